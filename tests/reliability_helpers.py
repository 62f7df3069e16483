"""Helpers of the tests of training runs, faults and bad input (test_checkpoints.py, test_divergence.py,
test_bad_input.py, test_signals.py, test_distributed.py, ...): fixed-length data, script runs in subprocesses and in
this process, weights."""

import json
import os
import random
import subprocess

import torch
from safetensors.torch import load_file

from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.models import new_model
from hf_seq2seq_lstm.tokenization import load_tokenizer, train_tokenizers

from conftest import PYTHON, REPO_ROOT

TRAIN_SCRIPT = str(REPO_ROOT / "scripts" / "train.py")


# `python -c PACED_TRAIN scripts/train.py ARGS...`: train.py with each training step slowed by 30 ms (numerics
# unchanged), so that a kill or a second run surely lands while it trains rather than after it ended.
PACED_TRAIN = """
import runpy, sys, time
import hf_seq2seq_lstm.training as training
step = training.Seq2SeqLSTMTrainer.training_step
def paced(self, *args, **kwargs):
    time.sleep(0.03)
    return step(self, *args, **kwargs)
training.Seq2SeqLSTMTrainer.training_step = paced
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def write_fixed_length_data(folder, size=64, seed=0):
    """
    `folder/fixed.jsonl` (digit strings -> their reversed first six digits) and a digit-level tokenizer in
    `folder/tokenizer`: every source is 10 tokens and every target 7 (+ </s>), so every batch holds the same number
    of target tokens, whatever its size or which process it lands on.
    """
    rng = random.Random(seed)
    records = []
    for _ in range(size):
        digits = "".join(rng.choice("0123456789") for _ in range(8))
        records.append({"translation": {"src": digits, "tgt": digits[::-1][:6]}})
    data = folder / "fixed.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    tokenizer = train_tokenizers([r["translation"]["src"] for r in records],
                                 [r["translation"]["tgt"] for r in records], vocab_size=100, split_digits=True)
    lengths = {len(tokenizer(text_target=r["translation"]["tgt"])["input_ids"]) for r in records}
    assert lengths == {7 + 1}, lengths  # the premise of equal token counts per batch
    tokenizer.save_pretrained(folder / "tokenizer")
    return data, folder / "tokenizer"


def save_digit_model(fixed, folder, **config):
    """A tiny untrained model of the fixed-length digit task (`write_fixed_length_data`) with large weights, so that
    its outputs are non-empty and differ by input, saved in `folder` with its tokenizer; returns `folder`."""
    tokenizer = load_tokenizer(fixed[1])
    torch.manual_seed(0)
    new_model(tokenizer, embedding_size=8, init_range=0.5, **config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def fixed_data_args(data, tokenizer, batch_size=8):
    """train.py arguments for a tiny, deterministic run on the fixed-length data (no dropout, no evaluation)."""
    return ["--train_file", str(data), "--source_lang", "src", "--target_lang", "tgt", "--tokenizer_name",
            str(tokenizer), "--do_train", "--hidden_size", "16", "--embedding_size", "8", "--dropout", "0",
            "--learning_rate", "1e-2", "--per_device_train_batch_size", str(batch_size), "--logging_steps", "1",
            "--report_to", "none", "--disable_tqdm", "true", "--seed", "0", "--use_cpu", "true"]


# A run of STEPS steps with a checkpoint every SAVE_STEPS (`run_args`): the reference of the resume tests.
STEPS, SAVE_STEPS = 40, 5


def run_args(fixed, output_dir):
    return [*fixed_data_args(*fixed), "--output_dir", str(output_dir), "--max_steps", str(STEPS),
            "--save_steps", str(SAVE_STEPS)]


def cli(script, argv, capsys):
    """Runs a script's main through run_cli in this process: (exit status, stderr)."""
    capsys.readouterr()
    status = run_cli(script.main, [str(arg) for arg in argv])
    return status, capsys.readouterr().err


def subprocess_env(**extra):
    """One thread per process (reproducible sums, and fair to a 2-core machine); offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_"))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONDONTWRITEBYTECODE="1", **extra)
    env.pop("HF_SEQ2SEQ_LSTM_TRACEBACK", None)
    return env


def run_train(args, prefix=(), timeout=300, **popen):
    """Runs scripts/train.py (after `prefix`, e.g. `-c WRAPPER`) in a fresh process; returns the CompletedProcess."""
    return subprocess.run([PYTHON, *prefix, TRAIN_SCRIPT, *args], capture_output=True, text=True, timeout=timeout,
                          env=subprocess_env(), cwd=REPO_ROOT, **popen)


def load_weights(folder):
    return load_file(os.path.join(folder, "model.safetensors"))


# A resumed run repeats the uninterrupted run's computation, but from tensors reloaded at other addresses: where BLAS
# picks kernels by alignment (e.g. MKL on AVX-512 CPUs) a sum can round differently in its last bit, and later steps
# carry that along. A wrong resume (a lost learning rate, optimizer moment or RNG state) moves weights by ~1e-3 or
# more within a step at learning rate 1e-2, so this still catches it. Bit-equality would hold on one machine only.
RESUME_TOLERANCE = 1e-5


def max_weight_difference(folder_a, folder_b):
    a, b = load_weights(folder_a), load_weights(folder_b)
    assert a.keys() == b.keys()
    return max((a[key].double() - b[key].double()).abs().max().item() for key in a)


def logged_losses(folder):
    state = json.loads((folder / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def all_finite(folder):
    return all(torch.isfinite(tensor).all() for tensor in load_weights(folder).values())
