"""A user's own training loop resumes exactly: a plain transformers `Seq2SeqTrainer` + `DataCollatorForSeq2Seq` on a
model loaded with `AutoModelForSeq2SeqLM.from_pretrained` (with this package imported, or as remote code in a process
without it), stopped after a checkpoint and resumed in a new process, ends with the weights of an uninterrupted run
(CPU, one thread: bit for bit on one machine; compared within RESUME_TOLERANCE, see reliability_helpers).

The settings draw randomness every step (dropout 0.1, the config default, and scheduled sampling with
teacher_forcing_ratio 0.5), and the run crosses an epoch boundary after the resume, so the dropout masks, the sampled
tokens and the next epoch's shuffle all have to come back from the checkpoint's RNG state.

(Weights that are *initialized* in the user's process rather than loaded, e.g. `from_config` before the trainer
exists, are drawn before `Seq2SeqTrainer.__init__` seeds: two such runs start from different weights (LSTM weights
uniform in +-1/sqrt(hidden_size)) whatever resuming does. Seed first, or pass `model_init=`, as transformers
documents for `TrainingArguments.seed`.)
"""

import json
import random
import subprocess
import sys

import pytest
import torch

from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.tokenization import train_tokenizers

from conftest import BLOCK_PACKAGE
from reliability_helpers import RESUME_TOLERANCE, load_weights, subprocess_env

MAX_STEPS, STOP_AT = 12, 4  # 64 pairs in batches of 8: 8 steps an epoch, so the resumed run starts a second epoch

# argv: model folder, data file, output root, phase ("first": uninterrupted and interrupted runs; "resume").
USER_LOOP = """
import json, os, sys
from datasets import Dataset
from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer,
                          Seq2SeqTrainingArguments, TrainerCallback)
folder, data_file, root, phase = sys.argv[1:5]
remote = {"trust_remote_code": True} if REMOTE else {}
if not REMOTE:
    import hf_seq2seq_lstm  # registers the Auto classes
tokenizer = AutoTokenizer.from_pretrained(folder, **remote)
pairs = json.load(open(data_file))
data = Dataset.from_dict(pairs).map(lambda batch: tokenizer(batch["src"], text_target=batch["tgt"]), batched=True,
                                    remove_columns=["src", "tgt"])

class StopAfterCheckpoint(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == STOP_AT:
            control.should_training_stop = True  # the checkpoint of this step is still written

def train(output_dir, stop=False, resume_from_checkpoint=None):
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, **remote)
    trainer = Seq2SeqTrainer(
        model=model, processing_class=tokenizer, train_dataset=data,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        callbacks=[StopAfterCheckpoint()] if stop else [],
        args=Seq2SeqTrainingArguments(output_dir=output_dir, max_steps=MAX_STEPS, save_steps=STOP_AT,
                                      per_device_train_batch_size=8, learning_rate=1e-2, logging_steps=1,
                                      report_to=[], use_cpu=True, disable_tqdm=True),
    )
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    if not stop:
        trainer.save_model(os.path.join(output_dir, "final"))
        trainer.save_state()

if phase == "first":
    train(os.path.join(root, "uninterrupted"))
    train(os.path.join(root, "interrupted"), stop=True)
else:
    train(os.path.join(root, "interrupted"),
          resume_from_checkpoint=os.path.join(root, "interrupted", f"checkpoint-{STOP_AT}"))
"""


def write_pairs(path, size=64, seed=0):
    """Letter sequences of 3-9 tokens -> their first five reversed: batches need padding on both sides."""
    rng = random.Random(seed)
    sources = [" ".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 9))) for _ in range(size)]
    pairs = {"src": sources, "tgt": [" ".join(s.split()[::-1][:5]) for s in sources]}
    path.write_text(json.dumps(pairs), encoding="utf-8")
    return pairs


def run_user_loop(folder, data, root, phase, remote, tmp_path):
    code = (BLOCK_PACKAGE if remote else "") + f"REMOTE, MAX_STEPS, STOP_AT = {remote}, {MAX_STEPS}, {STOP_AT}\n" \
        + USER_LOOP
    env = subprocess_env(HF_MODULES_CACHE=str(tmp_path / "hf_modules"))
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", code, str(folder), str(data), str(root), phase], env=env,
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def logged_losses(folder):
    state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    return {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}


@pytest.mark.parametrize("remote, joint, config", [
    (False, True, {"teacher_forcing_ratio": 0.5}),
    (True, False, {"teacher_forcing_ratio": 0.5, "attention": "luong_general", "input_feeding": True}),
], ids=["package-one-vocabulary", "remote-code-two-vocabularies"])
def test_plain_seq2seq_trainer_resumes_to_the_uninterrupted_weights(tmp_path, remote, joint, config):
    pairs = write_pairs(tmp_path / "pairs.json")
    tokenizer = train_tokenizers(pairs["src"], pairs["tgt"], joint=joint, vocab_size=60, min_frequency=1)
    torch.manual_seed(0)
    model = new_model(tokenizer, hidden_size=16, embedding_size=8, **config)
    assert model.config.dropout > 0  # the package default: dropout masks are drawn every step
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)

    root = tmp_path / "runs"
    run_user_loop(folder, tmp_path / "pairs.json", root, "first", remote, tmp_path)
    interrupted = root / "interrupted"
    assert not (interrupted / f"checkpoint-{2 * STOP_AT}").exists()  # it did stop after the checkpoint
    run_user_loop(folder, tmp_path / "pairs.json", root, "resume", remote, tmp_path)

    reference, resumed = load_weights(root / "uninterrupted" / "final"), load_weights(interrupted / "final")
    assert reference.keys() == resumed.keys()
    differences = {name: (reference[name].double() - resumed[name].double()).abs().max().item()
                   for name in reference}
    assert max(differences.values()) <= RESUME_TOLERANCE, differences
    # the same loss at every step (the resumed state's history holds the interrupted run's steps, then its own)
    reference_losses, resumed_losses = logged_losses(root / "uninterrupted"), logged_losses(interrupted)
    assert sorted(resumed_losses) == list(range(1, MAX_STEPS + 1))
    assert resumed_losses == pytest.approx(reference_losses, rel=RESUME_TOLERANCE)
