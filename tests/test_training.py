"""Trainer glue: the time limit and the learning-rate schedule that decays to it; batches by tokens."""

import json

import pytest
from transformers import Seq2SeqTrainingArguments, TrainerCallback

from hf_seq2seq_lstm import training
from hf_seq2seq_lstm.data import bucketed_batches
from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.training import Seq2SeqLSTMTrainer, TimeLimitCallback

from conftest import load_script, make_model

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


class _ClockJump(TrainerCallback):
    """Moves the fake clock past the time limit at one event of one step: where the limit falls in a real run."""

    def __init__(self, clock, event, step):
        self.clock, self.event, self.step = clock, event, step

    def _maybe_jump(self, state):
        if state.global_step == self.step:
            self.clock.now += 3600

    def on_step_end(self, args, state, control, **kwargs):
        if self.event == "step_end":
            self._maybe_jump(state)

    def on_evaluate(self, args, state, control, **kwargs):
        if self.event == "evaluate":
            self._maybe_jump(state)


@pytest.mark.parametrize(("event", "step", "stop_step", "checkpoints"), [
    ("evaluate", 10, 10, [5, 10]),  # an epoch's evaluation runs past the limit: stop after its checkpoint
    ("step_end", 7, 7, [5, 7]),  # the limit falls inside an epoch: stop at that step
])
def test_time_limit_evaluates_and_saves_each_step_once(tmp_path, monkeypatch, event, step, stop_step, checkpoints):
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq

    from hf_seq2seq_lstm.tokenization import train_tokenizers

    clock = FakeClock()
    monkeypatch.setattr(training.time, "monotonic", clock)
    sources = [" ".join("abcdefgh"[: 1 + i % 8]) for i in range(40)]
    targets = [" ".join("xyz"[: 1 + i % 3]) for i in range(40)]
    tokenizer = train_tokenizers(sources, targets, vocab_size=40)
    dataset = Dataset.from_dict({**tokenizer(sources), "labels": tokenizer(text_target=targets)["input_ids"]})
    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path), report_to="none", per_device_train_batch_size=8,
                                    num_train_epochs=10, eval_strategy="epoch", save_strategy="epoch",
                                    disable_tqdm=True)
    limit = TimeLimitCallback(minutes=10)
    model = new_model(tokenizer, hidden_size=8, embedding_size=4)
    trainer = Seq2SeqLSTMTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=dataset,
                                 data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                                 callbacks=[_ClockJump(clock, event, step), limit])
    trainer.train()  # 5 steps per epoch
    assert trainer.state.global_step == limit.stopped_at == stop_step
    evaluated = [entry["step"] for entry in trainer.state.log_history if "eval_loss" in entry]
    assert evaluated == [*checkpoints[:-1], stop_step]  # each epoch end, then the stop; none twice
    saved = sorted(int(path.name.split("-")[1]) for path in tmp_path.glob("checkpoint-*"))
    assert saved == checkpoints


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
    assert ("| learning-rate schedule | linear to zero at the 0.1-minute time limit (by wall time) or at the last "
            "step, whichever comes first, warmup 3 |") in card
    assert "| time limit (minutes) | 0.1 |" in card


def test_lr_decayed_to_the_time_limit_still_reaches_zero_at_the_last_step_when_that_comes_first(tmp_path):
    # a fast machine reaching its epochs long before the time limit must not stop part-way down the decay
    output_dir = tmp_path / "fast"
    train_script.main(["--output_dir", str(output_dir), "--do_train", "--max_steps", "20", "--save_strategy", "no",
                       "--max_train_minutes", "60", "--decay_lr_to_time_limit", "true", "--learning_rate", "3e-3",
                       "--warmup_steps", "2", "--logging_steps", "1", "--hidden_size", "16", "--embedding_size", "8",
                       "--vocab_size", "200", "--max_train_samples", "200", "--per_device_train_batch_size", "16",
                       "--report_to", "none", "--disable_tqdm", "true"])
    state = json.loads((output_dir / "trainer_state.json").read_text())
    rates = [entry["learning_rate"] for entry in state["log_history"] if "learning_rate" in entry]
    assert state["global_step"] == 20
    # the rate each step used (logged with it): transformers' linear schedule down to the last step, as the time
    # share stays near 1 in 60 minutes
    linear = [3e-3 * min(step / 2, (20 - step) / 18) for step in range(20)]
    assert rates == pytest.approx(linear, rel=0.01)


def test_train_py_refuses_lr_decay_without_a_time_limit(tmp_path):
    with pytest.raises(ValueError, match="--decay_lr_to_time_limit needs --max_train_minutes"):
        train_script.main(["--output_dir", str(tmp_path / "x"), "--do_train", "--max_steps", "2",
                           "--decay_lr_to_time_limit", "true", "--report_to", "none"])


def test_bucketed_batches_keep_the_token_budget_and_cover_every_pair_once():
    source_lengths = [5, 3, 9, 3, 5, 7, 1, 3, 2, 8, 12, 2]
    target_lengths = [4, 2, 1, 7, 3, 6, 2, 1, 9, 5, 3, 2]
    batches = bucketed_batches(source_lengths, target_lengths, max_tokens=20)
    assert sorted(i for batch in batches for i in batch) == list(range(len(source_lengths)))
    for batch in batches:
        assert len(batch) * max(max(source_lengths[i], target_lengths[i]) for i in batch) <= 20
    assert len(batches[0]) > len(batches[-1])  # more short pairs per batch than long ones
    keys = [(source_lengths[i], target_lengths[i]) for batch in batches for i in batch]
    assert keys == sorted(keys)
    both = bucketed_batches(source_lengths, target_lengths, max_tokens=20, max_sentences=2)
    assert max(len(batch) for batch in both) == 2
    with pytest.raises(ValueError, match="Pair 10 has 12 tokens, more than a batch of 10 tokens holds"):
        bucketed_batches(source_lengths, target_lengths, max_tokens=10)


def test_max_tokens_per_batch_gives_token_bounded_batches_in_a_new_order_each_epoch(tmp_path):
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq

    from hf_seq2seq_lstm.tokenization import train_tokenizers

    sources = [" ".join("abcdefgh"[: 1 + i % 8]) for i in range(40)]
    targets = [" ".join("xyz"[: 1 + i % 3]) for i in range(40)]
    tokenizer = train_tokenizers(sources, targets, vocab_size=40)
    dataset = Dataset.from_dict({**tokenizer(sources), "labels": tokenizer(text_target=targets)["input_ids"]})
    model = new_model(tokenizer, hidden_size=8, embedding_size=4)
    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path), report_to="none", per_device_train_batch_size=2,
                                    seed=3)
    trainer = Seq2SeqLSTMTrainer(model=model, args=args, train_dataset=dataset, max_tokens_per_batch=48,
                                 data_collator=DataCollatorForSeq2Seq(tokenizer, model=model))
    loader = trainer.get_train_dataloader()
    epochs = []
    for epoch in (0, 1, 0):
        loader.set_epoch(epoch)
        batches = list(loader)
        assert sum(len(batch["input_ids"]) for batch in batches) == len(dataset)  # each pair once
        for batch in batches:
            assert batch["input_ids"].numel() <= 48 and batch["labels"].numel() <= 48
        assert max(len(batch["input_ids"]) for batch in batches) > 2  # not per_device_train_batch_size
        epochs.append([batch["input_ids"].tolist() for batch in batches])
    assert len(loader) == len(epochs[0])
    assert epochs[0] != epochs[1] and epochs[0] == epochs[2]  # reshuffled per epoch, reproducibly


def test_train_py_max_tokens_per_batch_replaces_the_sentence_batch_size(tmp_path, fixed):
    from reliability_helpers import fixed_data_args

    data, tokenizer = fixed
    # 64 pairs of 10 source tokens: a budget of 10,000 tokens holds them all, so each epoch is one step.
    train_script.main(["--output_dir", str(tmp_path), *fixed_data_args(data, tokenizer), "--num_train_epochs", "3",
                       "--max_tokens_per_batch", "10000", "--save_strategy", "no"])
    assert json.loads((tmp_path / "trainer_state.json").read_text())["global_step"] == 3
    with pytest.raises(ValueError, match="--max_tokens_per_batch must be"):
        train_script.main(["--output_dir", str(tmp_path / "bad"), *fixed_data_args(data, tokenizer),
                           "--max_tokens_per_batch", "0"])
