"""ROUGE (Google Research's `rouge_score`) as an offline `evaluate` metric module.

Same inputs and outputs as the Hub's `rouge` metric, which `evaluate` 0.4.6 can only fetch online.
Load it with `hf_seq2seq_lstm.metrics.load_metric("rouge")`.
"""

import datasets
import evaluate
from rouge_score import rouge_scorer, scoring

__all__ = ["Rouge"]

_CITATION = """\
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    month = jul,
    year = "2004",
    address = "Barcelona, Spain",
    publisher = "Association for Computational Linguistics",
    url = "https://www.aclweb.org/anthology/W04-1013",
    pages = "74--81",
}
"""

_DESCRIPTION = """\
ROUGE compares predictions with references by n-gram overlap (rouge1, rouge2, ...) and longest common subsequence
(rougeL; rougeLsum splits the text into sentences on newlines first). Computed by Google Research's reimplementation,
https://github.com/google-research/google-research/tree/master/rouge. Its default tokenizer lowercases and keeps only
ASCII letters and digits.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): system outputs.
    references (`list` of `str`, or `list` of `list` of `str`): one reference per prediction, or several, in which
        case each prediction scores against its best-matching reference.
    rouge_types (`list` of `str`): defaults to ["rouge1", "rouge2", "rougeL", "rougeLsum"].
    use_aggregator (`bool`): if True (default) return one corpus value per type, the median ("mid") F-measure of
        rouge_score's BootstrapAggregator; if False, a list with each prediction's F-measure.
    use_stemmer (`bool`): strip word suffixes with the Porter stemmer. Defaults to False.
    tokenizer (callable, optional): maps a string to a list of tokens, replacing rouge_score's default tokenizer.

Returns:
    One F-measure (`float`, 0-1), or a list of them, per rouge type, keyed by the type's name.

Note:
    The aggregate is a median over bootstrap resamples, which depend on numpy's random generator. `evaluate` reseeds
    numpy with the metric's `seed` for every `compute`, and draws that seed from numpy's global generator when the
    metric is loaded: seed numpy before loading (transformers' `set_seed` does) to get the same aggregates every run.

Example:
    >>> rouge = load_metric("rouge")
    >>> rouge.compute(predictions=["hello there", "general kenobi"], references=["hello there", "general kenobi"])
    {'rouge1': 1.0, 'rouge2': 1.0, 'rougeL': 1.0, 'rougeLsum': 1.0}
"""


class _CallableTokenizer:
    """Adapts a plain callable to the `tokenize` method that rouge_score expects of a tokenizer."""

    def __init__(self, tokenize_fn):
        self._tokenize_fn = tokenize_fn

    def tokenize(self, text):
        """Returns the tokens of `text`."""
        return self._tokenize_fn(text)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Rouge(evaluate.Metric):
    """rouge_score ROUGE F-measures; see the module docstring."""

    def _info(self):
        # Two feature layouts so `evaluate` accepts both several references per prediction and a flat list.
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://github.com/google-research/google-research/tree/master/rouge",
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Value("string", id="sequence"),
                        "references": datasets.Sequence(datasets.Value("string", id="sequence")),
                    }
                ),
                datasets.Features(
                    {
                        "predictions": datasets.Value("string", id="sequence"),
                        "references": datasets.Value("string", id="sequence"),
                    }
                ),
            ],
        )

    def _compute(
        self, predictions, references, rouge_types=None, use_aggregator=True, use_stemmer=False, tokenizer=None
    ):
        """Scores each prediction with rouge_score, then aggregates (or lists) the F-measures."""
        if rouge_types is None:
            rouge_types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
        scorer = rouge_scorer.RougeScorer(
            rouge_types=rouge_types,
            use_stemmer=use_stemmer,
            tokenizer=_CallableTokenizer(tokenizer) if tokenizer is not None else None,
        )
        multi_reference = isinstance(references[0], list)
        scores = [
            scorer.score_multi(reference, prediction) if multi_reference else scorer.score(reference, prediction)
            for reference, prediction in zip(references, predictions)
        ]
        if not use_aggregator:
            return {rouge_type: [score[rouge_type].fmeasure for score in scores] for rouge_type in rouge_types}
        aggregator = scoring.BootstrapAggregator()
        for score in scores:
            aggregator.add_scores(score)
        # float(): rouge_score returns numpy scalars; plain floats print and serialise cleanly.
        return {rouge_type: float(aggregate.mid.fmeasure) for rouge_type, aggregate in aggregator.aggregate().items()}
