"""Offline `evaluate` metric modules shipped with the package: sacrebleu, chrf and rouge.

`evaluate` 0.4.6 fetches even its built-in metrics from the Hugging Face Hub; these local copies, with the same
inputs and outputs, load without network access.
"""

from pathlib import Path

import evaluate

__all__ = ["METRICS_DIR", "TASK_METRICS", "load_metric", "text_scorer"]

METRICS_DIR = Path(__file__).parent


def load_metric(name: str) -> evaluate.EvaluationModule:
    """Loads the bundled metric `name` ("sacrebleu", "chrf" or "rouge") through `evaluate.load`.

    Raises:
        ValueError: if no bundled metric has that name.
    """
    # A metric is a folder holding a module file of the same name, the layout `evaluate.load` expects.
    available = sorted(path.parent.name for path in METRICS_DIR.glob("*/*.py") if path.stem == path.parent.name)
    if name not in available:
        raise ValueError(f"Unknown metric {name!r}; available metrics: {', '.join(available)}")
    return evaluate.load(str(METRICS_DIR / name))


TASK_METRICS = {"translation": ("sacrebleu", "chrf"), "summarization": ("rouge",)}


def text_scorer(task: str = "translation"):
    """
    Returns `score(predictions, references) -> dict` over detokenized strings, one reference each: `bleu` and `chrf`
    (translation) or ROUGE F-measures x 100 (summarization), plus `exact_match` (%). The metrics are loaded once here,
    not per call, so training can score every evaluation cheaply.
    """
    loaded = {name: load_metric(name) for name in TASK_METRICS[task]}

    def score(predictions: list[str], references: list[str]) -> dict[str, float]:
        results = {}
        if "sacrebleu" in loaded:
            results["bleu"] = loaded["sacrebleu"].compute(predictions=predictions,
                                                          references=[[r] for r in references])["score"]
        if "chrf" in loaded:
            results["chrf"] = loaded["chrf"].compute(predictions=predictions,
                                                     references=[[r] for r in references])["score"]
        if "rouge" in loaded:
            scores = loaded["rouge"].compute(predictions=predictions, references=references)
            results.update({name: 100 * float(value) for name, value in scores.items()})
        results["exact_match"] = 100 * sum(p == r for p, r in zip(predictions, references)) / max(len(predictions), 1)
        return results

    return score
