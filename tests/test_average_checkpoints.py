"""scripts/average_checkpoints.py (checkpoints.average_checkpoints, issue 16): the mean of a run's last checkpoints as
a model folder that loads and translates in a fresh process; mismatched or missing checkpoints refused."""

import json
import shutil
import subprocess

import pytest
import torch

from conftest import PYTHON, REPO_ROOT
from reliability_helpers import fixed_data_args, load_weights, run_train, subprocess_env

AVERAGE = [PYTHON, str(REPO_ROOT / "scripts" / "average_checkpoints.py")]


def average(*args):
    return subprocess.run([*AVERAGE, *args], capture_output=True, text=True, timeout=120, env=subprocess_env(),
                          cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def run_dir(fixed, tmp_path_factory):
    """A train.py run that kept its checkpoints at steps 2, 4 and 6."""
    output_dir = tmp_path_factory.mktemp("run")
    data, tokenizer = fixed
    result = run_train(["--output_dir", str(output_dir), *fixed_data_args(data, tokenizer), "--max_steps", "6",
                        "--save_strategy", "steps", "--save_steps", "2", "--save_total_limit", "3"])
    assert result.returncode == 0, result.stderr[-2000:]
    return output_dir


def test_average_is_the_mean_of_the_last_checkpoints_and_loads_in_a_fresh_process(run_dir, tmp_path):
    output_dir = tmp_path / "averaged"
    result = average("--run_dir", str(run_dir), "--last", "2", "--output_dir", str(output_dir))
    assert result.returncode == 0, result.stderr
    first, second = load_weights(run_dir / "checkpoint-4"), load_weights(run_dir / "checkpoint-6")
    averaged = load_weights(output_dir)
    assert averaged.keys() == first.keys()
    for key, tensor in averaged.items():
        # the same elementwise float64 mean, rounded once: bit-equal on any CPU
        assert torch.equal(tensor, ((first[key].double() + second[key].double()) / 2).float()), key
    assert any(not torch.equal(first[key], second[key]) for key in first)  # the checkpoints differ: a real mean
    load = ("import sys, torch, hf_seq2seq_lstm; from transformers import AutoModelForSeq2SeqLM, AutoTokenizer\n"
            "model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1]); "
            "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n"
            "ids = model.generate(**tok(['12345678'], return_tensors='pt'), max_new_tokens=8, num_beams=2)\n"
            "print(len(tok.batch_decode(ids, skip_special_tokens=True)[0]) >= 0)")
    loaded = subprocess.run([PYTHON, "-c", load, str(output_dir)], capture_output=True, text=True, timeout=120,
                            env=subprocess_env(), cwd=REPO_ROOT)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "True", loaded.stderr[-2000:]
    # Rerun into the same (our own) folder: allowed, and gives the same weights.
    again = average("--checkpoints", str(run_dir / "checkpoint-4"), str(run_dir / "checkpoint-6"),
                    "--output_dir", str(output_dir))
    assert again.returncode == 0, again.stderr
    assert all(torch.equal(load_weights(output_dir)[key], averaged[key]) for key in averaged)


def test_too_few_complete_checkpoints_is_one_line(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir / "checkpoint-4", copy / "checkpoint-4")
    shutil.copytree(run_dir / "checkpoint-6", copy / "checkpoint-6")
    (copy / "checkpoint-6" / "trainer_state.json").unlink()  # as a run killed while saving leaves it
    result = average("--run_dir", str(copy), "--last", "2", "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "holds 1 complete checkpoint-N folder(s), fewer than the 2 to average" in result.stderr
    assert "Skipping incomplete checkpoint" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_checkpoints_of_different_models_are_refused(run_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(run_dir / "checkpoint-6", other)
    config = json.loads((other / "config.json").read_text())
    config["dropout"] = 0.25
    (other / "config.json").write_text(json.dumps(config))
    result = average("--checkpoints", str(run_dir / "checkpoint-4"), str(other), "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "holds another model" in result.stderr and "dropout is 0.0 there and 0.25 here" in result.stderr


def test_a_folder_of_the_user_is_never_written(run_dir, tmp_path):
    output_dir = tmp_path / "mine"
    output_dir.mkdir()
    (output_dir / "notes.txt").write_text("keep me")
    result = average("--run_dir", str(run_dir), "--output_dir", str(output_dir))
    assert result.returncode == 1 and "notes.txt" in result.stderr
    assert sorted(p.name for p in output_dir.iterdir()) == ["notes.txt"]


def test_last_must_be_at_least_two(run_dir, tmp_path):
    result = average("--run_dir", str(run_dir), "--last", "1", "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 2 and "--last" in result.stderr
