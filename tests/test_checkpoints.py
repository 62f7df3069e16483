"""Checkpoints (hf_seq2seq_lstm.checkpoints): resuming after a crash and loading saved models.

Resuming: a run killed with SIGKILL at a random step resumes, when the same command is run again, from the latest
complete checkpoint and ends with the weights of an uninterrupted run; a half-written checkpoint is skipped, naming
the missing or truncated file. Loading: every way a saved model can be broken gets an error saying what is wrong,
from `load_model` and through scripts/train.py and scripts/translate.py; a pickle is never unpickled, and nothing
saved in the folder (code beside the weights, config values) is executed.
"""

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoModelForSeq2SeqLM
from transformers.trainer_utils import get_last_checkpoint

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMModel
from hf_seq2seq_lstm.checkpoints import (
    CheckpointError,
    checkpoint_problem,
    find_resumable_checkpoint,
    load_model,
    resolve_resume_checkpoint,
)

from conftest import PYTHON, REPO_ROOT, load_script
from reliability_helpers import (
    PACED_TRAIN,
    RESUME_TOLERANCE,
    SAVE_STEPS,
    STEPS,
    TRAIN_SCRIPT,
    cli,
    fixed_data_args,
    load_weights,
    logged_losses,
    max_weight_difference,
    run_args,
    run_train,
    subprocess_env,
)

train_script = load_script("train")
translate_script = load_script("translate")


@pytest.fixture(scope="module")
def reference_run(fixed, tmp_path_factory):
    """An uninterrupted run of STEPS steps with a checkpoint every SAVE_STEPS, in a fresh process."""
    output_dir = tmp_path_factory.mktemp("reference")
    result = run_train([*fixed_data_args(*fixed), "--output_dir", str(output_dir), "--max_steps", str(STEPS),
                        "--save_steps", str(SAVE_STEPS)])
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


def truncate(path, keep=0.5):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])


# Resuming after a crash


def test_sigkill_at_a_random_step_then_resume_ends_with_the_uninterrupted_weights(fixed, reference_run, tmp_path):
    output_dir = tmp_path / "killed"
    args = run_args(fixed, output_dir)
    rng = random.Random()
    kill_after, delay = rng.choice([10, 15, 20, 25]), rng.uniform(0.0, 0.1)
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen([PYTHON, "-c", PACED_TRAIN, TRAIN_SCRIPT, *args], stdout=log, stderr=log,
                                   env=subprocess_env(), cwd=REPO_ROOT)
        deadline = time.monotonic() + 240
        while not (output_dir / f"checkpoint-{kill_after}" / "trainer_state.json").exists():
            assert process.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.005)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    # it died mid-training: no final save, and not every checkpoint was written
    assert not (output_dir / "model.safetensors").exists()
    assert not (output_dir / f"checkpoint-{STEPS}").exists()
    killed_at = find_resumable_checkpoint(output_dir)
    assert killed_at is not None and int(killed_at.rsplit("-", 1)[1]) >= kill_after

    resumed = run_train(args)  # no --resume_from_checkpoint: the latest complete checkpoint in --output_dir
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from the latest complete checkpoint in --output_dir: {killed_at}" in resumed.stdout
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == STEPS
    assert max_weight_difference(reference_run, output_dir) <= RESUME_TOLERANCE, (kill_after, delay)
    # and the resumed run logged the same losses as the uninterrupted one at the same steps
    resumed_losses = logged_losses(output_dir)
    assert resumed_losses == pytest.approx(logged_losses(reference_run)[-len(resumed_losses):], rel=RESUME_TOLERANCE)


def test_resume_skips_a_half_written_checkpoint_and_still_matches(fixed, reference_run, tmp_path, capsys):
    output_dir = tmp_path / "out"
    for step in (5, 10, 15, 20):
        shutil.copytree(reference_run / f"checkpoint-{step}", output_dir / f"checkpoint-{step}")
    # A kill (or a full disk) while checkpoint-20 was being written: its optimizer state is cut short.
    truncate(output_dir / "checkpoint-20" / "optimizer.pt")
    assert get_last_checkpoint(output_dir).endswith("checkpoint-20")  # what transformers alone would resume from

    result = run_train(run_args(fixed, output_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Skipping incomplete checkpoint {output_dir / 'checkpoint-20'}: optimizer.pt is truncated" in result.stdout
    assert f"Resuming from the latest complete checkpoint in --output_dir: {output_dir / 'checkpoint-15'}" \
        in result.stdout
    assert max_weight_difference(output_dir, reference_run) <= RESUME_TOLERANCE
    assert checkpoint_problem(output_dir / "checkpoint-20") is None  # rewritten when training passed step 20 again

    # An explicitly named broken checkpoint is refused, naming the one to use instead.
    truncate(output_dir / "checkpoint-40" / "model.safetensors")
    status, stderr = cli(train_script, [*run_args(fixed, output_dir), "--max_steps", "45",
                                        "--resume_from_checkpoint", output_dir / "checkpoint-40"], capsys)
    assert status == 1
    assert f"Cannot resume from {output_dir / 'checkpoint-40'}: model.safetensors is truncated" in stderr
    assert f"The latest complete checkpoint there is {output_dir / 'checkpoint-35'}" in stderr


def _corrupt(folder, name, how):
    path = folder / name
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        truncate(path)
    elif how == "flip":  # a flipped byte in the stored data: only a checksum sees it
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "garble":
        path.write_text('{"global_step": 1', encoding="utf-8")


@pytest.mark.parametrize("name, how, reason", [
    ("trainer_state.json", "delete", "trainer_state.json is missing (the save was interrupted"),
    ("trainer_state.json", "garble", "trainer_state.json is unreadable"),
    ("model.safetensors", "delete", "model.safetensors is missing"),
    ("model.safetensors", "truncate", "model.safetensors is truncated"),
    ("optimizer.pt", "delete", "optimizer.pt is missing"),
    ("optimizer.pt", "truncate", "optimizer.pt is truncated or corrupted"),
    ("scheduler.pt", "truncate", "scheduler.pt is truncated or corrupted"),
    ("rng_state.pth", "flip", "rng_state.pth is"),
])
def test_incomplete_checkpoints_are_detected_and_skipped(reference_run, tmp_path, caplog, name, how, reason):
    for step in (5, 10):
        shutil.copytree(reference_run / f"checkpoint-{step}", tmp_path / f"checkpoint-{step}")
    assert checkpoint_problem(tmp_path / "checkpoint-10") is None
    _corrupt(tmp_path / "checkpoint-10", name, how)
    assert reason in checkpoint_problem(tmp_path / "checkpoint-10")
    with caplog.at_level(logging.WARNING, logger="hf_seq2seq_lstm.checkpoints"):
        assert find_resumable_checkpoint(tmp_path) == str(tmp_path / "checkpoint-5")
    assert f"Skipping incomplete checkpoint {tmp_path / 'checkpoint-10'}: {reason}" in caplog.text
    assert resolve_resume_checkpoint("latest", tmp_path) == str(tmp_path / "checkpoint-5")
    with pytest.raises(CheckpointError, match="latest complete checkpoint there is .*checkpoint-5"):
        resolve_resume_checkpoint(str(tmp_path / "checkpoint-10"), tmp_path)


def test_resume_finds_nothing_in_a_fresh_output_dir(tmp_path):
    assert resolve_resume_checkpoint(None, tmp_path / "new") is None
    (tmp_path / "checkpoint-3").mkdir()  # created, then killed before anything was written
    assert resolve_resume_checkpoint(None, tmp_path) is None
    with pytest.raises(CheckpointError, match="no complete checkpoint-N"):
        resolve_resume_checkpoint("true", tmp_path)


# Broken and untrusted saved models


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def _other_size(folder):
    _edit_config(folder, hidden_size=16)


def _base_model_weights(folder):
    config = Seq2SeqLSTMConfig.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    Seq2SeqLSTMModel(config).save_pretrained(folder)  # no lm_head


def _pickle_only(folder):
    state_dict = load_weights(folder)
    (folder / "model.safetensors").unlink()
    torch.save(state_dict, folder / "pytorch_model.bin")


BROKEN_MODELS = {
    # name: (how to break a saved model, what load_model / the scripts say, what transformers alone does)
    "missing_weights": (lambda f: (f / "model.safetensors").unlink(),
                        "model.safetensors is missing", (OSError, "no file named model.safetensors")),
    "truncated_weights": (lambda f: truncate(f / "model.safetensors"),
                          "model.safetensors is truncated or not a safetensors file",
                          (Exception, "incomplete metadata")),
    "cell_type": (lambda f: _edit_config(f, cell_type="transformer"),
                  "invalid cell_type='transformer'; allowed values are lstm, gru",
                  (StrictDataclassError, "invalid cell_type")),
    "attention": (lambda f: _edit_config(f, attention="magic"),
                  "invalid attention='magic'; allowed values are none, bahdanau",
                  (StrictDataclassError, "invalid attention")),
    "bert_config": (lambda f: (f / "config.json").write_text(json.dumps(
        {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": 15, "hidden_size": 8,
         "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8})),
                    "holds a 'bert' model (architectures ['BertModel']), not a seq2seq_lstm one",
                    (ValueError, "Unrecognized configuration class")),
    "other_size": (_other_size, "weight(s) have other shapes than config.json implies",
                   (RuntimeError, "ignore_mismatched_sizes")),
    "base_model_weights": (_base_model_weights, "1 missing weight(s) (lm_head.weight)", None),
    "pickle_only": (_pickle_only, "has weights only in pickle format (pytorch_model.bin), which this package never "
                                  "loads", (OSError, "no file named model.safetensors")),
}


@pytest.mark.parametrize("case", list(BROKEN_MODELS))
def test_broken_saved_models_get_clear_errors(saved_model, fixed, tmp_path, capsys, case):
    break_it, message, transformers_says = BROKEN_MODELS[case]
    folder = tmp_path / "model"
    shutil.copytree(saved_model, folder)
    break_it(folder)

    # transformers alone: an error, but not always a helpful one; and weights missing from the file are silently
    # initialized at random.
    if transformers_says is None:
        model, info = AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True, output_loading_info=True)
        assert info["missing_keys"]
    else:
        error_type, text = transformers_says
        with pytest.raises(error_type, match=text):
            AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True)

    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    assert message in str(error.value)

    (tmp_path / "in.txt").write_text("123\n", encoding="utf-8")
    for script, argv in (
        (train_script, ["--model_name_or_path", folder, "--tokenizer_name", fixed[1], "--train_file", fixed[0],
                        "--source_lang", "src", "--target_lang", "tgt", "--do_train", "--max_steps", "1",
                        "--output_dir", tmp_path / "out"]),
        (translate_script, ["--model_name_or_path", folder, "--tokenizer_name", fixed[1], "--input",
                            tmp_path / "in.txt", "--disable_tqdm"]),
    ):
        status, stderr = cli(script, argv, capsys)
        assert status == 1 and message in stderr and "Traceback" not in stderr


class _Marker:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_checkpoint_is_refused_and_never_unpickled(saved_model, fixed, tmp_path, capsys):
    import pickle

    folder = tmp_path / "pickled"
    shutil.copytree(saved_model, folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Marker(marker)))
    with pytest.raises(CheckpointError, match="weights only in pickle format .* unpickling a file can run arbitrary"):
        load_model(folder)
    status, stderr = cli(translate_script, ["--model_name_or_path", folder, "--input", os.devnull, "--disable_tqdm"],
                         capsys)
    assert status == 1 and "pickle format" in stderr
    with pytest.raises(CheckpointError, match="pickle weights are refused"):
        load_model(saved_model, use_safetensors=False)
    assert not marker.exists()


def test_nothing_from_a_saved_folder_is_executed(saved_model, tmp_path):
    """Config values are data, and load_model never runs the model code saved beside the weights."""
    marker = tmp_path / "executed"
    folder = tmp_path / "model"
    shutil.copytree(saved_model, folder)
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    for name in ("modeling_seq2seq_lstm.py", "configuration_seq2seq_lstm.py"):
        (folder / name).write_text(payload + "\n", encoding="utf-8")
    _edit_config(folder, some_unknown_field=payload)
    model = load_model(folder)
    assert model.config.some_unknown_field == payload
    _edit_config(folder, cell_type=payload)
    with pytest.raises(CheckpointError, match="invalid cell_type="):
        load_model(folder)
    assert not marker.exists()
