"""Trainer glue: the time limit and the learning-rate schedule that decays to it."""

import json

import pytest
from transformers import Seq2SeqTrainingArguments

from conftest import load_script, make_model
from hf_seq2seq_lstm import training
from hf_seq2seq_lstm.training import Seq2SeqLSTMTrainer, TimeLimitCallback

train_script = load_script("train")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_learning_rate_warms_up_then_decays_to_zero_at_the_time_limit(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(training.time, "monotonic", clock)
    limit = TimeLimitCallback(minutes=10)
    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path), learning_rate=0.01, warmup_steps=4, max_steps=10_000,
                                    report_to="none")
    trainer = Seq2SeqLSTMTrainer(model=make_model(), args=args, callbacks=[limit], lr_deadline=limit)
    trainer.create_optimizer_and_scheduler(num_training_steps=10_000)
    scheduler = trainer.lr_scheduler
    limit.on_train_begin(args, trainer.state, trainer.control)

    rates = [scheduler.get_last_lr()[0]]
    for _ in range(4):  # warmup is by steps, whatever the clock says
        trainer.optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    assert rates == pytest.approx([0.0, 0.0025, 0.005, 0.0075, 0.01])
    for minutes, expected in ((2.5, 0.0075), (5, 0.005), (9, 0.001), (10, 0.0), (12, 0.0)):
        clock.now = 1000.0 + 60 * minutes
        trainer.optimizer.step()
        scheduler.step()
        assert scheduler.get_last_lr()[0] == pytest.approx(expected, abs=1e-12), minutes

    # the same clock stops training at the limit
    control = trainer.control
    limit.on_step_end(args, trainer.state, control)
    assert control.should_training_stop


def test_lr_deadline_must_be_the_callback_that_stops_training(tmp_path):
    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path), report_to="none")
    with pytest.raises(ValueError, match="must also be passed in callbacks"):
        Seq2SeqLSTMTrainer(model=make_model(), args=args, lr_deadline=TimeLimitCallback(minutes=1))


def test_train_py_decays_to_the_time_limit_and_says_so_in_the_card(tmp_path):
    output_dir = tmp_path / "timed"
    train_script.main(["--output_dir", str(output_dir), "--do_train", "--max_steps", "100000", "--save_strategy", "no",
                       "--max_train_minutes", "0.1", "--decay_lr_to_time_limit", "true", "--learning_rate", "3e-3",
                       "--warmup_steps", "3", "--logging_steps", "1", "--hidden_size", "16", "--embedding_size", "8",
                       "--vocab_size", "200", "--max_train_samples", "200", "--per_device_train_batch_size", "16",
                       "--report_to", "none", "--disable_tqdm", "true"])
    state = json.loads((output_dir / "trainer_state.json").read_text())
    rates = [entry["learning_rate"] for entry in state["log_history"] if "learning_rate" in entry]
    assert 10 < state["global_step"] < 100_000, "the time limit, not max_steps, ended the run"
    peak = max(rates)
    assert peak == pytest.approx(3e-3, rel=0.1)  # reached right after the 3 warmup steps
    after_peak = rates[rates.index(peak):]
    assert all(a >= b for a, b in zip(after_peak, after_peak[1:])), "decays monotonically"
    assert after_peak[-1] < 0.1 * peak, "ends near zero at the time limit"
    card = (output_dir / "README.md").read_text()
    assert "| learning-rate schedule | linear to zero at the 0.1-minute time limit (by wall time), warmup 3 |" in card
    assert "| time limit (minutes) | 0.1 |" in card


def test_train_py_refuses_lr_decay_without_a_time_limit(tmp_path):
    with pytest.raises(ValueError, match="--decay_lr_to_time_limit needs --max_train_minutes"):
        train_script.main(["--output_dir", str(tmp_path / "x"), "--do_train", "--max_steps", "2",
                           "--decay_lr_to_time_limit", "true", "--report_to", "none"])
