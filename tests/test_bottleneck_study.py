"""The bottleneck study (hf_seq2seq_lstm.experiments.bottleneck): synthetic task, length buckets, its batches,
settings and training, and scripts/bottleneck_study.py --tiny end to end."""

import csv

import pytest
import torch

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.evaluation import bucket_indices, score_by_bucket, sequence_scores
from hf_seq2seq_lstm.experiments import bottleneck
from hf_seq2seq_lstm.tasks.synthetic import SyntheticTask, strip_special

from conftest import MULTI30K, load_script, png_size

study_script = load_script("bottleneck_study")


@pytest.mark.parametrize("name", ["copy", "reverse"])
def test_synthetic_batches(name):
    task = SyntheticTask(name, num_symbols=6, min_length=3, max_length=9)
    batch = task.batch(32, torch.Generator().manual_seed(0))
    lengths = batch["attention_mask"].sum(1) - 1  # symbols, </s> not counted
    assert 3 <= lengths.min() and lengths.max() <= 9
    for row in range(32):
        source = batch["input_ids"][row, : lengths[row]]
        target = batch["labels"][row, : lengths[row]]
        assert (source >= 4).all() and (source < task.vocab_size).all()
        assert target.tolist() == (source.flip(0) if name == "reverse" else source).tolist()
        assert batch["input_ids"][row, lengths[row]] == 2 and batch["labels"][row, lengths[row]] == 2
    assert (batch["labels"][batch["labels"] < 0] == -100).all()
    # same seed, same data; lengths can be imposed
    again = task.batch(32, torch.Generator().manual_seed(0))
    assert torch.equal(again["input_ids"], batch["input_ids"])
    fixed = task.batch(lengths=[4, 4], generator=torch.Generator().manual_seed(1))
    assert fixed["input_ids"].shape == (2, 5)


def test_synthetic_tokenizer_round_trip():
    task = SyntheticTask(num_symbols=30)
    tokenizer = task.tokenizer()
    assert len(tokenizer) == task.vocab_size and tokenizer.pad_token_id == 0 and tokenizer.eos_token_id == 2
    ids = tokenizer("a b z aa")["input_ids"]
    assert ids == [4, 5, 29, 30, 2]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "a b z aa" == task.to_text(ids)
    with pytest.raises(ValueError, match="Unknown synthetic task"):
        SyntheticTask("sort")


def test_buckets_and_sequence_scores():
    lengths = [5, 9, 10, 14, 15, 3, 99]
    buckets = bucket_indices(lengths, [5, 10, 15])
    assert buckets == [(5, 9, [0, 1]), (10, 14, [2, 3])]  # 15, 3 and 99 fall outside
    predictions = [[4, 5, 6], [4, 5], [4, 5, 6, 7], [4]]
    references = [[4, 5, 6], [4, 6], [4, 5, 6], [5]]
    rows = score_by_bucket(lengths[:4], [5, 10, 15], sequence_scores(predictions, references))
    assert [row["bucket"] for row in rows] == ["5-9", "10-14"]
    assert rows[0]["token_accuracy"] == pytest.approx(100 * 4 / 5) and rows[0]["exact_match"] == 50
    assert rows[1]["token_accuracy"] == pytest.approx(100 * 3 / 5) and rows[1]["exact_match"] == 0  # extra token
    assert strip_special([1, 4, 5, 2, 0, 7]) == [4, 5]
    with pytest.raises(ValueError, match="increasing"):
        bucket_indices(lengths, [5, 5])


def test_study_batches_are_pools_bucketed_by_length():
    task = SyntheticTask("copy", num_symbols=6, min_length=1, max_length=30)
    batches = bottleneck.synthetic_batches(task, 4, torch.Generator().manual_seed(0), pool=2)
    for _ in range(5):  # each pool: two batches, one holding the 4 shortest of its 8 sources, one the 4 longest
        first, second = ((next(batches)["attention_mask"].sum(1) - 1).tolist() for _ in range(2))
        assert max(first) <= min(second) or max(second) <= min(first)
    pairs = [([4 + i] * (1 + i % 4) + [2], [4 + i, 2]) for i in range(10)]
    batches = bottleneck.pair_batches(pairs, 3, torch.Generator().manual_seed(0), pool=2)
    epoch = [next(batches) for _ in range(4)]  # pools of 6 and 4 pairs: 2 + 2 batches
    assert sorted(i for batch in epoch for i in batch["labels"][:, 0].tolist()) == [4 + i for i in range(10)]
    for first, second in (epoch[:2], epoch[2:]):
        first, second = first["attention_mask"].sum(1).tolist(), second["attention_mask"].sum(1).tolist()
        assert max(first) <= min(second) or max(second) <= min(first)


def test_study_training_stops_on_a_non_finite_loss():
    task = SyntheticTask("copy", num_symbols=6, min_length=2, max_length=4)
    torch.manual_seed(0)
    model = Seq2SeqLSTMForConditionalGeneration(Seq2SeqLSTMConfig(vocab_size=task.vocab_size, embedding_size=4,
                                                                  hidden_size=8))
    batches = bottleneck.synthetic_batches(task, 4, torch.Generator().manual_seed(0))
    losses = bottleneck.train_model(model, batches, 3, 1e-3, log_every=0)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    with torch.no_grad():
        model.lm_head.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="loss became nan at step 1; lower the learning rate"):
        bottleneck.train_model(model, batches, 3, 1e-3, log_every=0)


def test_study_settings_hold_each_task_and_its_training_once():
    settings = bottleneck.StudySettings()
    assert settings.synthetic.training == bottleneck.SYNTHETIC_TRAINING and settings.multi30k is None
    tiny = bottleneck.StudySettings(multi30k=bottleneck.Multi30kStudy("data"), variants=("none",)).tiny()
    assert tiny.synthetic.training.steps == tiny.multi30k.training.steps == 5 and tiny.variants == ("none",)
    assert tiny.synthetic.edges() == [5, 7, 9] and tiny.multi30k.edges == (1, 10)
    assert tiny.multi30k.training.dropout == bottleneck.MULTI30K_TRAINING.dropout  # what tiny does not set stays
    assert bottleneck.StudySettings(synthetic=None).tiny().synthetic is None
    assert bottleneck.SyntheticStudy().edges()[-2:] == [55, 61]  # the last bucket takes the remainder, 55-60


def test_study_script_accepts_the_old_flag_spellings(capsys):
    old = study_script.parse_args(["--output-dir", "o", "--no-synthetic", "--multi30k-steps", "7", "--min-length",
                                   "3", "--max-length", "9", "--learning-rate", "0.1", "--hidden-size", "5",
                                   "--save-models", "m", "--from-csv", "c"])
    new = study_script.parse_args(["--output_dir", "o", "--no_synthetic", "--multi30k_steps", "7", "--min_length",
                                   "3", "--max_length", "9", "--learning_rate", "0.1", "--hidden_size", "5",
                                   "--save_models", "m", "--from_csv", "c"])
    assert vars(old) == vars(new) != vars(study_script.parse_args([]))
    with pytest.raises(SystemExit):
        study_script.parse_args(["--help"])
    shown = capsys.readouterr().out
    assert "--output_dir" in shown and "--output-dir" not in shown and "--from-csv" not in shown


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_study_tiny_end_to_end(tmp_path, capsys):
    study_script.main(["--tiny", "--jobs", "1", "--output_dir", str(tmp_path), "--save_models", str(tmp_path / "m")])
    rows = read_rows(tmp_path / "bottleneck.csv")
    models = ["no attention", "no attention, reversed source", "Bahdanau attention", "Luong attention (general)"]
    # four models x (two length buckets + all)
    assert [(row["model"], row["bucket"]) for row in rows] == [
        (model, bucket) for model in models for bucket in ("5-6", "7-8", "all")]
    for row in rows:
        assert row["dataset"] == "synthetic" and row["steps"] == "5"
        assert 0 <= float(row["token_accuracy"]) <= 100 and 0 <= float(row["exact_match"]) <= 100
        assert int(row["count"]) == (12 if row["bucket"] == "all" else 6)
    width, height = png_size(tmp_path / "bottleneck.png")
    assert width > 2 * height  # two panels side by side: token accuracy and exact match
    printed = capsys.readouterr().out
    assert "| no attention, reversed source |" in printed and "5-6 (n=6)" in printed
    assert (tmp_path / "m" / "synthetic-luong" / "tokenizer.json").is_file()
    # the plot and tables can be redrawn from the CSV alone
    redrawn = study_script.main(["--from_csv", str(tmp_path / "bottleneck.csv"), "--output_dir", str(tmp_path / "r")])
    assert png_size(tmp_path / "r" / "bottleneck.png") == (width, height)
    assert [row["token_accuracy"] for row in redrawn] == [float(row["token_accuracy"]) for row in rows]
    assert "| no attention, reversed source |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--no_synthetic needs --multi30k"):
        study_script.main(["--no_synthetic", "--output_dir", str(tmp_path / "x")])


@pytest.mark.skipif(not MULTI30K.is_dir(), reason=f"Multi30k not found at {MULTI30K}")
def test_study_tiny_with_multi30k(tmp_path):
    study_script.main(["--tiny", "--jobs", "1", "--output_dir", str(tmp_path), "--multi30k", str(MULTI30K),
                       "--variants", "none", "luong"])
    rows = [row for row in read_rows(tmp_path / "bottleneck.csv") if row["dataset"] == "multi30k"]
    assert [row["bucket"] for row in rows][-1] == "all" and len(rows) == 2 * 3
    assert all(0 <= float(row["bleu"]) <= 100 for row in rows)
    for model in ("no attention", "Luong attention (general)"):
        assert sum(int(row["count"]) for row in rows if row["model"] == model and row["bucket"] != "all") == 20
