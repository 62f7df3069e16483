"""The benchmark's own logic: batching, and what it hands the OpenNMT-py peer and reads back from it. (The peer
itself is installed and run only by `scripts/benchmark.py --peer opennmt`, never in the test suite.)"""

import pytest

from conftest import load_script

benchmark = load_script("benchmark")
benchmark_opennmt = load_script("benchmark_opennmt")


def test_shuffled_batches_cover_every_example_once_sorted_by_source_then_target_length():
    source_lengths = [5, 3, 9, 3, 5, 7, 1, 3, 2, 8]
    target_lengths = [4, 2, 1, 7, 3, 6, 2, 1, 9, 5]
    batches = benchmark.shuffled_batches(source_lengths, target_lengths, batch_size=3)
    assert sorted(i for batch in batches for i in batch) == list(range(10))
    assert sorted(len(batch) for batch in batches) == [1, 3, 3, 3]
    ordered = sorted(batches, key=lambda batch: (source_lengths[batch[0]], target_lengths[batch[0]]))
    keys = [(source_lengths[i], target_lengths[i]) for batch in ordered for i in batch]
    assert keys == sorted(keys)


@pytest.mark.parametrize("variant, expected", [
    ("reference (input feeding)", dict(rnn_type="LSTM", input_feed=1, global_attention="general")),
    ("no input feeding (fused)", dict(rnn_type="LSTM", input_feed=0, global_attention="general")),
    ("GRU, no input feeding", dict(rnn_type="GRU", input_feed=0, global_attention="general")),
    ("no attention", dict(rnn_type="LSTM", input_feed=0, global_attention="none")),
])
def test_peer_gets_the_same_model_configuration(variant, expected):
    options = benchmark_opennmt.options_for(benchmark.VARIANTS[variant])
    assert {key: options[key] for key in expected} == expected
    reference = benchmark.REFERENCE
    assert options["encoder_type"] == "brnn" and reference["bidirectional_encoder"]
    assert options["hidden_size"] == reference["hidden_size"] == 2 * reference["encoder_hidden_size"]
    assert options["word_vec_size"] == reference["embedding_size"]
    assert options["dropout"] == [reference["dropout"]] and options["batch_type"] == "sents"


def test_peer_step_report_parsing_reads_target_tokens_per_second():
    log = (
        "[2026-11-25 17:37:39,731 INFO] Step 17/   40; acc: 20.9; ppl: 203.1; xent: 5.3; lr: 0.00100; sents:      64;"
        " bsz:  384/ 512/64; 1899/2532 tok/s;     26 sec;\n"
        "[2026-11-25 17:54:35,459 INFO] Step  1/    4; acc: 0.0; ppl: 10443.2; xent: 9.3; lr: 0.00100; sents:      64;"
        " bsz: 1216/1119/64; 108/ 99 tok/s;     11 sec;\n"
    )
    assert benchmark_opennmt.STEP_LINE.findall(log) == [("17", "1899", "2532"), ("1", "108", "99")]


def test_peer_corpus_is_our_subword_ids_with_a_vocabulary_of_our_size(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = ["ein kleiner Hund", "zwei große Hunde laufen", "ein Hund läuft"]
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=60, special_tokens=["<pad>", "<unk>", "</s>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                        eos_token="</s>")
    pairs = {"source": texts, "target": texts}
    benchmark_opennmt.prepare(tmp_path, tokenizer, pairs, pairs)
    lines = (tmp_path / "train.src").read_text().splitlines()
    assert [list(map(int, line.split())) for line in lines] == tokenizer(texts, add_special_tokens=False)["input_ids"]
    vocabulary = [line.split() for line in (tmp_path / "vocab.tgt").read_text().splitlines()]
    # OpenNMT-py adds its own <unk>, <blank>, <s>, </s>: the same output layer size as ours needs every other id.
    assert len(vocabulary) == len(tokenizer) - len(tokenizer.all_special_ids)
    assert all(count == "1" and int(token) not in tokenizer.all_special_ids for token, count in vocabulary)


def test_peer_corpus_of_separate_vocabularies_has_each_side_in_its_own_ids(tmp_path):
    from hf_seq2seq_lstm.tokenization import train_tokenizers

    sources = ["ein kleiner Hund", "zwei große Hunde laufen", "ein Hund läuft"]
    targets = ["a small dog", "two big dogs run", "a dog runs"]
    tokenizer = train_tokenizers(sources, targets, joint=False, vocab_size=60, min_frequency=1)
    pairs = {"source": sources, "target": targets}
    benchmark_opennmt.prepare(tmp_path, tokenizer, pairs, pairs)

    def read_ids(name):
        return [list(map(int, line.split())) for line in (tmp_path / name).read_text().splitlines()]

    assert read_ids("train.src") == read_ids("test.src") == tokenizer(sources, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(text_target=targets, add_special_tokens=False)["input_ids"]
    assert read_ids("train.tgt") == target_ids != tokenizer(targets, add_special_tokens=False)["input_ids"]
    # Each side's vocabulary lists every non-special id of that side's vocabulary (of different sizes here).
    special = set(tokenizer.all_special_ids)
    for side, vocab in (("src", tokenizer.get_vocab()), ("tgt", tokenizer.get_target_vocab())):
        assert read_ids(f"vocab.{side}") == [[i, 1] for i in sorted(set(vocab.values()) - special)]
    assert len(tokenizer.get_vocab()) != len(tokenizer.get_target_vocab())


def test_rounds_are_summarised_by_the_median_of_each_figure():
    rounds = [
        {"matmul_flops_per_s": 3.0, "training": [{"variant": "a", "rate": 10.0, "peak_rss_mb": 5, "steps": 30}],
         "peer": {"toolkit": "x", "reuse_freed_memory": False, "generation": {"beam5": 1.0}}},
        {"matmul_flops_per_s": 1.0, "training": [{"variant": "a", "rate": 30.0, "peak_rss_mb": 7, "steps": 30}],
         "peer": {"toolkit": "x", "reuse_freed_memory": False, "generation": {"beam5": 3.0}}},
        {"matmul_flops_per_s": 2.0, "training": [{"variant": "a", "rate": 20.0, "peak_rss_mb": 6, "steps": 30}],
         "peer": {"toolkit": "x", "reuse_freed_memory": False, "generation": {"beam5": 2.0}}},
    ]
    assert benchmark.median_over_rounds(rounds) == {
        "matmul_flops_per_s": 2.0, "training": [{"variant": "a", "rate": 20.0, "peak_rss_mb": 6, "steps": 30}],
        "peer": {"toolkit": "x", "reuse_freed_memory": False, "generation": {"beam5": 2.0}},
    }
    two = benchmark.median_over_rounds(rounds[:2])
    assert two["training"][0]["rate"] == 20.0 and type(two["training"][0]["steps"]) is int
