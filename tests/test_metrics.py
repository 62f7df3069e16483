"""The bundled offline metrics load without network access and score exactly like the libraries they wrap."""

import socket
import sys

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer, scoring
from sacrebleu.metrics import BLEU, CHRF

from hf_seq2seq_lstm.metrics import load_metric

PREDICTIONS = [
    "The cat sat on the mat, looking at the birds.",
    "He is running to the Station because his train leaves soon.",
    "A good bookshop is just a genteel black hole that knows how to read.",
    "We stayed inside and played cards.\nIt rained all day.",
]
# Two references per prediction, grouped by prediction as `evaluate` expects.
REFERENCES = [
    [
        "The cat was sitting on the mat and watching the birds.",
        "A cat sat on the mat, watching birds.",
    ],
    [
        "He runs to the station since his train is leaving soon.",
        "He is running to the station; his train leaves soon.",
    ],
    [
        "A good bookshop is just a genteel Black Hole that knows how to read.",
        "Good bookshops are black holes that read.",
    ],
    [
        "It rained the whole day,\nso we stayed in and played cards.",
        "Because of the rain we played cards inside all day.",
    ],
]
# The same references as sacreBLEU's streams: one list per reference set, aligned with the predictions.
REFERENCE_STREAMS = [[refs[i] for refs in REFERENCES] for i in range(2)]
FIRST_REFERENCES = REFERENCE_STREAMS[0]


@pytest.fixture(scope="module")
def metrics():
    """Loads every bundled metric with sockets disabled, so loading cannot reach the Hub."""

    def refuse_connection(*args, **kwargs):
        raise OSError("network access attempted while loading a bundled metric")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse_connection)
        return {name: load_metric(name) for name in ("sacrebleu", "chrf", "rouge")}


def bleu_dict(output):
    """The fields of a sacreBLEU BLEUScore that the metric returns."""
    return {
        "score": output.score,
        "counts": output.counts,
        "totals": output.totals,
        "precisions": output.precisions,
        "bp": output.bp,
        "sys_len": output.sys_len,
        "ref_len": output.ref_len,
    }


def test_sacrebleu_module_uses_the_real_library(metrics):
    """The module file is itself named sacrebleu.py; loaded through `evaluate` it must still import the library."""
    module = sys.modules[type(metrics["sacrebleu"]).__module__]
    assert module.BLEU is BLEU


def test_sacrebleu_matches_library_with_multiple_references(metrics):
    result = metrics["sacrebleu"].compute(predictions=PREDICTIONS, references=REFERENCES)
    assert result == bleu_dict(sacrebleu.corpus_bleu(PREDICTIONS, REFERENCE_STREAMS))
    assert 0 < result["score"] < 100


@pytest.mark.parametrize(
    "options",
    [
        {"lowercase": True, "tokenize": "intl"},
        {"tokenize": "char", "smooth_method": "floor", "smooth_value": 0.2},
        {"tokenize": "none", "smooth_method": "add-k", "use_effective_order": True, "force": True},
    ],
)
def test_sacrebleu_matches_library_with_options(metrics, options):
    result = metrics["sacrebleu"].compute(predictions=PREDICTIONS, references=REFERENCES, **options)
    assert result == bleu_dict(sacrebleu.corpus_bleu(PREDICTIONS, REFERENCE_STREAMS, **options))


def test_sacrebleu_accepts_one_flat_reference_per_prediction(metrics):
    result = metrics["sacrebleu"].compute(predictions=PREDICTIONS, references=FIRST_REFERENCES)
    assert result == bleu_dict(sacrebleu.corpus_bleu(PREDICTIONS, [FIRST_REFERENCES]))


@pytest.mark.parametrize("word_order", [0, 2])
def test_chrf_matches_library(metrics, word_order):
    result = metrics["chrf"].compute(predictions=PREDICTIONS, references=REFERENCES, word_order=word_order)
    expected = sacrebleu.corpus_chrf(PREDICTIONS, REFERENCE_STREAMS, word_order=word_order)
    assert result == {"score": expected.score, "char_order": 6, "word_order": word_order, "beta": 2}


def test_chrf_matches_library_with_options(metrics):
    # corpus_chrf has no lowercase switch, so compare with the CHRF class it wraps.
    options = dict(char_order=4, word_order=1, beta=1, lowercase=True, whitespace=True, eps_smoothing=True)
    result = metrics["chrf"].compute(predictions=PREDICTIONS, references=FIRST_REFERENCES, **options)
    expected = CHRF(**options).corpus_score(PREDICTIONS, [FIRST_REFERENCES])
    assert result == {"score": expected.score, "char_order": 4, "word_order": 1, "beta": 1}


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_per_prediction_matches_library(metrics, use_stemmer):
    rouge_types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    result = metrics["rouge"].compute(
        predictions=PREDICTIONS, references=FIRST_REFERENCES, use_aggregator=False, use_stemmer=use_stemmer
    )
    scorer = rouge_scorer.RougeScorer(rouge_types, use_stemmer=use_stemmer)
    scores = [scorer.score(ref, pred) for ref, pred in zip(FIRST_REFERENCES, PREDICTIONS)]
    assert result == {rouge_type: [score[rouge_type].fmeasure for score in scores] for rouge_type in rouge_types}
    # The last pair has its sentences in swapped order, which only rougeLsum (split on newlines) forgives.
    assert result["rougeLsum"][-1] > result["rougeL"][-1]


def test_rouge_aggregate_matches_bootstrap_median(metrics):
    # The aggregate resamples with numpy's generator, which `evaluate` seeds with the metric's `seed` for compute.
    result = metrics["rouge"].compute(predictions=PREDICTIONS, references=FIRST_REFERENCES)
    np.random.seed(metrics["rouge"].seed)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"])
    aggregator = scoring.BootstrapAggregator()
    for ref, pred in zip(FIRST_REFERENCES, PREDICTIONS):
        aggregator.add_scores(scorer.score(ref, pred))
    expected = {rouge_type: aggregate.mid.fmeasure for rouge_type, aggregate in aggregator.aggregate().items()}
    assert result == pytest.approx(expected, abs=1e-9)


def test_rouge_multiple_references_and_custom_tokenizer(metrics):
    result = metrics["rouge"].compute(
        predictions=PREDICTIONS,
        references=REFERENCES,
        rouge_types=["rouge1", "rougeL"],
        use_aggregator=False,
        tokenizer=str.split,
    )

    class SplitTokenizer:
        """rouge_score's tokenizer interface around whitespace splitting."""

        def tokenize(self, text):
            return text.split()

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], tokenizer=SplitTokenizer())
    scores = [scorer.score_multi(refs, pred) for refs, pred in zip(REFERENCES, PREDICTIONS)]
    assert result == {rouge_type: [score[rouge_type].fmeasure for score in scores] for rouge_type in scorer.rouge_types}


def test_unknown_metric_names_the_available_ones():
    with pytest.raises(ValueError, match="Unknown metric 'bleu'; available metrics: chrf, rouge, sacrebleu"):
        load_metric("bleu")
