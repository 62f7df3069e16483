"""chrF and chrF++ (sacreBLEU's implementation) as an offline `evaluate` metric module.

Same inputs and outputs as the Hub's `chrf` metric, which `evaluate` 0.4.6 can only fetch online.
Load it with `hf_seq2seq_lstm.metrics.load_metric("chrf")`.
"""

import datasets
import evaluate
from sacrebleu.metrics import CHRF

__all__ = ["ChrF"]

_CITATION = """\
@inproceedings{popovic-2015-chrf,
    title = "chr{F}: character n-gram {F}-score for automatic {MT} evaluation",
    author = "Popovi{\\'c}, Maja",
    booktitle = "Proceedings of the Tenth Workshop on Statistical Machine Translation",
    month = sep,
    year = "2015",
    address = "Lisbon, Portugal",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/W15-3049",
    pages = "392--395",
}
@inproceedings{popovic-2017-chrf,
    title = "chr{F}++: words helping character n-grams",
    author = "Popovi{\\'c}, Maja",
    booktitle = "Proceedings of the Second Conference on Machine Translation",
    month = sep,
    year = "2017",
    address = "Copenhagen, Denmark",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/W17-4770",
    pages = "612--618",
}
"""

_DESCRIPTION = """\
chrF is the F-score of character n-gram matches between hypothesis and references; chrF++ (word_order=2) adds word
unigrams and bigrams. Computed by sacreBLEU (https://github.com/mjpost/sacreBLEU).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): system outputs.
    references (`list` of `list` of `str`, or `list` of `str`): the references of each prediction; every prediction
        needs the same number of references. A flat list of strings means one reference per prediction.
    char_order (`int`): character n-gram order. Defaults to 6.
    word_order (`int`): word n-gram order; 2 gives chrF++. Defaults to 0.
    beta (`int`): weight of recall relative to precision. Defaults to 2.
    lowercase (`bool`): case-insensitive matching. Defaults to False.
    whitespace (`bool`): keep whitespace in character n-grams. Defaults to False.
    eps_smoothing (`bool`): epsilon smoothing as in chrF++.py, NLTK and Moses; if False, sacreBLEU's effective-order
        averaging. Defaults to False.

Returns:
    score (`float`): chrF or chrF++, 0-100.
    char_order (`int`), word_order (`int`), beta (`int`): the settings used.

Example:
    >>> chrf = load_metric("chrf")
    >>> results = chrf.compute(predictions=["The cat sat on the mat."], references=[["The cat sat on a mat."]])
    >>> sorted(results)
    ['beta', 'char_order', 'score', 'word_order']
"""


def _reference_streams(references):
    """Transposes per-prediction references into sacreBLEU's per-reference-set streams.

    `evaluate` hands references grouped by prediction; sacreBLEU wants one list per reference set, each as long as
    the predictions, so every prediction must have the same number of references. (Duplicated in sacrebleu.py
    so that each module file stays self-contained: `evaluate` copies it alone into its module cache.)
    """
    if isinstance(references[0], str):
        references = [[reference] for reference in references]
    refs_per_prediction = len(references[0])
    if any(len(refs) != refs_per_prediction for refs in references):
        raise ValueError("chrF needs the same number of references for each prediction")
    return [[refs[i] for refs in references] for i in range(refs_per_prediction)]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ChrF(evaluate.Metric):
    """sacreBLEU corpus chrF / chrF++; see the module docstring."""

    def _info(self):
        # Two feature layouts so `evaluate` accepts both several references per prediction and a flat list.
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://github.com/mjpost/sacreBLEU#chrf--chrf",
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
        char_order=CHRF.CHAR_ORDER,
        word_order=CHRF.WORD_ORDER,
        beta=CHRF.BETA,
        lowercase=False,
        whitespace=False,
        eps_smoothing=False,
    ):
        """Scores the whole corpus at once with sacreBLEU's CHRF."""
        chrf = CHRF(
            char_order=char_order,
            word_order=word_order,
            beta=beta,
            lowercase=lowercase,
            whitespace=whitespace,
            eps_smoothing=eps_smoothing,
        )
        output = chrf.corpus_score(predictions, _reference_streams(references))
        return {
            "score": output.score,
            "char_order": output.char_order,
            "word_order": output.word_order,
            "beta": output.beta,
        }
