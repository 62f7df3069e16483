"""sacreBLEU as an offline `evaluate` metric module.

Same inputs and outputs as the Hub's `sacrebleu` metric, which `evaluate` 0.4.6 can only fetch online.
Load it with `hf_seq2seq_lstm.metrics.load_metric("sacrebleu")`.
"""

import datasets
import evaluate

# Import the submodule rather than `import sacrebleu`: this file is itself named sacrebleu.py, so if it ever
# shadowed the library (its folder on sys.path, e.g. run as a script from there) the import fails here, loudly,
# instead of the metric failing later on a missing attribute.
from sacrebleu.metrics import BLEU

__all__ = ["Sacrebleu"]

_CITATION = """\
@inproceedings{post-2018-call,
    title = "A Call for Clarity in Reporting {BLEU} Scores",
    author = "Post, Matt",
    booktitle = "Proceedings of the Third Conference on Machine Translation: Research Papers",
    month = oct,
    year = "2018",
    address = "Belgium, Brussels",
    publisher = "Association for Computational Linguistics",
    url = "https://www.aclweb.org/anthology/W18-6319",
    pages = "186--191",
}
"""

_DESCRIPTION = """\
Corpus-level BLEU as computed by sacreBLEU (https://github.com/mjpost/sacreBLEU), which works on detokenized text
and applies its own standard tokenization, so scores are comparable across papers.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): detokenized system outputs.
    references (`list` of `list` of `str`, or `list` of `str`): the references of each prediction; every prediction
        needs the same number of references. A flat list of strings means one reference per prediction.
    smooth_method (`str`): 'none', 'floor', 'add-k' or 'exp' (default).
    smooth_value (`float`, optional): the value for 'floor' (default 0.1) or 'add-k' (default 1).
    force (`bool`): score even if the input looks tokenized already. Defaults to False.
    lowercase (`bool`): case-insensitive BLEU. Defaults to False.
    tokenize (`str`): sacreBLEU tokenizer: '13a' (default), 'none', 'intl', 'char', 'zh', 'ja-mecab', ...
    use_effective_order (`bool`): drop n-gram orders with no matches (for sentence-level BLEU). Defaults to False.

Returns:
    score (`float`): BLEU, 0-100.
    counts (`list` of `int`): matching n-grams per order.
    totals (`list` of `int`): hypothesis n-grams per order.
    precisions (`list` of `float`): n-gram precisions per order, 0-100.
    bp (`float`): brevity penalty.
    sys_len (`int`): hypothesis length in tokens.
    ref_len (`int`): effective reference length in tokens.

Example:
    >>> sacrebleu = load_metric("sacrebleu")
    >>> results = sacrebleu.compute(predictions=["hello there general kenobi"],
    ...                             references=[["hello there general kenobi", "hello there !"]])
    >>> round(results["score"], 1)
    100.0
"""


def _reference_streams(references):
    """Transposes per-prediction references into sacreBLEU's per-reference-set streams.

    `evaluate` hands references grouped by prediction; sacreBLEU wants one list per reference set, each as long as
    the predictions, so every prediction must have the same number of references. (Duplicated in chrf.py
    so that each module file stays self-contained: `evaluate` copies it alone into its module cache.)
    """
    if isinstance(references[0], str):
        references = [[reference] for reference in references]
    refs_per_prediction = len(references[0])
    if any(len(refs) != refs_per_prediction for refs in references):
        raise ValueError("sacreBLEU needs the same number of references for each prediction")
    return [[refs[i] for refs in references] for i in range(refs_per_prediction)]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Sacrebleu(evaluate.Metric):
    """sacreBLEU corpus BLEU; see the module docstring."""

    def _info(self):
        # Two feature layouts so `evaluate` accepts both several references per prediction and a flat list.
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://github.com/mjpost/sacreBLEU",
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Value("string", id="sequence"),
                        "references": datasets.Sequence(datasets.Value("string", id="sequence"), id="references"),
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
        self,
        predictions,
        references,
        smooth_method="exp",
        smooth_value=None,
        force=False,
        lowercase=False,
        tokenize="13a",
        use_effective_order=False,
    ):
        """Scores the whole corpus at once with sacreBLEU's BLEU."""
        bleu = BLEU(
            lowercase=lowercase,
            force=force,
            tokenize=tokenize,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            effective_order=use_effective_order,
        )
        output = bleu.corpus_score(predictions, _reference_streams(references))
        return {
            "score": output.score,
            "counts": output.counts,
            "totals": output.totals,
            "precisions": output.precisions,
            "bp": output.bp,
            "sys_len": output.sys_len,
            "ref_len": output.ref_len,
        }
