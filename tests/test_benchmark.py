"""hf_seq2seq_lstm.experiments.benchmark / opennmt / loop: batching, the training loop, the FLOP model, and what the
benchmark hands the OpenNMT-py peer and reads back from it. (The peer itself is installed and run only by
`scripts/benchmark.py --peer opennmt`, never in the test suite.)"""

import random

import pytest
import torch

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.experiments import benchmark, opennmt
from hf_seq2seq_lstm.experiments.loop import shuffled_batches, training_steps

from conftest import REPO_ROOT, load_script


def test_shuffled_batches_cover_every_example_once_sorted_by_source_then_target_length():
    source_lengths = [5, 3, 9, 3, 5, 7, 1, 3, 2, 8]
    target_lengths = [4, 2, 1, 7, 3, 6, 2, 1, 9, 5]
    batches = shuffled_batches(source_lengths, target_lengths, batch_size=3)
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
    options = opennmt.options_for(benchmark.variant_config(variant), benchmark.LEARNING_RATE)
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
    assert opennmt.STEP_LINE.findall(log) == [("17", "1899", "2532"), ("1", "108", "99")]


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
    opennmt.prepare(tmp_path, tokenizer, pairs, pairs)
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
    opennmt.prepare(tmp_path, tokenizer, pairs, pairs)

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


def test_shuffled_batches_take_their_order_from_the_generator():
    lengths = list(range(40))
    first = shuffled_batches(lengths, lengths, 4, torch.Generator().manual_seed(1))
    assert first == shuffled_batches(lengths, lengths, 4, torch.Generator().manual_seed(1))
    assert first != shuffled_batches(lengths, lengths, 4, torch.Generator().manual_seed(2))
    default = shuffled_batches(lengths, lengths, 4)
    assert default == shuffled_batches(lengths, lengths, 4, torch.Generator().manual_seed(0))


def test_peer_options_refuse_a_model_opennmt_cannot_build_the_same():
    reference = {**benchmark.REFERENCE}
    with pytest.raises(ValueError, match="brnn needs encoder_hidden_size x 2 = hidden_size"):
        opennmt.options_for(Seq2SeqLSTMConfig(**{**reference, "encoder_hidden_size": 128}), 1e-3)
    with pytest.raises(ValueError, match="attention 'bahdanau'"):
        opennmt.options_for(Seq2SeqLSTMConfig(**{**reference, "attention": "bahdanau", "input_feeding": False}), 1e-3)
    assert opennmt.options_for(benchmark.variant_config(benchmark.REFERENCE_VARIANT), 2e-3)["learning_rate"] == 2e-3


@pytest.mark.parametrize("variant", list(benchmark.VARIANTS))
def test_flop_model_counts_every_weight_matrix_of_the_model(variant):
    """2 x (multiply-adds) per token: each encoder weight matrix once per source token, each decoder, attention and
    output matrix once per target token, plus attention's scores and context over the source positions."""
    small = {**benchmark.REFERENCE, "embedding_size": 8, "hidden_size": 16, "encoder_hidden_size": 8}
    config = Seq2SeqLSTMConfig(vocab_size=50, **{**small, **benchmark.VARIANTS[variant]})
    model = Seq2SeqLSTMForConditionalGeneration(config)
    matrices = {name: p.numel() for name, p in model.named_parameters() if "weight" in name and "embed" not in name}
    encoder = sum(size for name, size in matrices.items() if ".encoder." in name)
    decoder = sum(matrices.values()) - encoder
    source_tokens, target_tokens, mean_source_length = 70, 50, 7.0
    expected = 2 * source_tokens * encoder + 2 * target_tokens * decoder
    if config.attention != "none":
        expected += target_tokens * 2 * 2 * mean_source_length * config.encoder_output_size
    flops = benchmark.model_forward_flops(config, source_tokens, target_tokens, mean_source_length)
    assert flops == pytest.approx(expected)


def test_training_steps_time_each_step_from_collating_and_clip_when_asked():
    torch.manual_seed(0)
    config = Seq2SeqLSTMConfig(vocab_size=20, embedding_size=8, hidden_size=8, dropout=0.0)
    model = Seq2SeqLSTMForConditionalGeneration(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no update: every step's loss is the same
    ids = torch.tensor([[5, 6, 7, 2]])
    collated = []

    def collate(batch):
        collated.append(batch)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}

    model.eval()
    steps = list(training_steps(model, ["a", "b", "c"], optimizer, collate=collate, max_grad_norm=1e-6))
    assert model.training and collated == ["a", "b", "c"] and [step.index for step in steps] == [0, 1, 2]
    assert all(step.seconds > 0 and not step.loss.requires_grad for step in steps)
    assert steps[0].loss == steps[2].loss and torch.equal(steps[1].inputs["labels"], ids)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    assert norm <= 1e-6 * (1 + 1e-4)  # clipped


def test_old_flag_spellings_are_accepted_but_not_shown(capsys):
    script = load_script("benchmark_generate")
    old = script.parse_args(["--hidden-size", "8", "--new-tokens", "3", "--input-feeding", "--batch-size", "2",
                             "--source-length", "5", "--vocab-size", "30", "--embedding-size", "4"])
    new = script.parse_args(["--hidden_size", "8", "--new_tokens", "3", "--input_feeding", "--batch_size", "2",
                             "--source_length", "5", "--vocab_size", "30", "--embedding_size", "4"])
    assert vars(old) == vars(new) != vars(script.parse_args([]))
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    shown = capsys.readouterr().out
    assert "--hidden_size" in shown and "--input_feeding" in shown and "-size" not in shown and "--new-" not in shown


def test_cache_benchmark_compares_equal_outputs(capsys):
    script = load_script("benchmark_generate")
    result = script.main(["--hidden_size", "8", "--embedding_size", "4", "--vocab_size", "30", "--batch_size", "2",
                          "--source_length", "5", "--new_tokens", "4", "--repeats", "1"])
    assert result["cached_s"] > 0 and result["uncached_s"] > 0
    printed = capsys.readouterr().out
    assert "use_cache=True" in printed and "use_cache=False" in printed and "speed-up" in printed


def test_a_training_variant_is_measured_in_a_process_of_its_own(tmp_path):
    """`scripts/benchmark.py --worker`: the tokenizer trained once by the parent, the steps timed in the worker."""
    rng = random.Random(0)
    sources = [" ".join(rng.choice("0123456789") for _ in range(rng.randint(3, 8))) for _ in range(64)]
    (tmp_path / "train.de").write_text("".join(s + "\n" for s in sources))
    (tmp_path / "train.en").write_text("".join(" ".join(s.split()[::-1]) + "\n" for s in sources))
    settings = benchmark.BenchmarkSettings(data=str(tmp_path), cache=str(tmp_path / "cache"), vocab_size=60,
                                           batch_size=8, warmup_steps=1, timed_steps=2)
    benchmark.load_tokenized(tmp_path, "train", settings.vocab_size, tmp_path / "cache")
    result = benchmark.training_in_own_process(settings, REPO_ROOT / "scripts" / "benchmark.py", "no attention")
    assert result["variant"] == "no attention" and result["compiled"] is False
    assert result["target_tokens_per_s"] > 0 and result["model_flops_per_s"] > 0 and result["peak_rss_mb"] > 0
    assert result["parameters"] > 0
