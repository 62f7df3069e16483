"""Offline `evaluate` metric modules shipped with the package: sacrebleu, chrf and rouge.

`evaluate` 0.4.6 fetches even its built-in metrics from the Hugging Face Hub; these local copies, with the same
inputs and outputs, load without network access.
"""

from pathlib import Path

import evaluate

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
