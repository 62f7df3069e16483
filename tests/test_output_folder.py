"""What scripts/train.py may write where: never into a folder of the user's, never while another run uses the folder,
never a run of another model over an earlier run's checkpoints; its results files written atomically; and its own
flags range-checked before anything is read or written."""

import json
import logging
import os
import signal
import subprocess
import time

import pytest
import torch
from transformers import Seq2SeqTrainingArguments

from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.files import LOCK_FILE, RUN_MARKER
from hf_seq2seq_lstm.training import Seq2SeqLSTMTrainer

from conftest import PYTHON, REPO_ROOT, load_script, make_model
from reliability_helpers import PACED_TRAIN, TRAIN_SCRIPT, fixed_data_args, load_weights, subprocess_env

train_script = load_script("train")


@pytest.fixture
def cli(capsys, caplog):
    """Runs scripts/train.py's main through run_cli, in this process: (exit status, stdout and log, stderr)."""

    def run(argv):
        capsys.readouterr()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            status = run_cli(train_script.main, [str(arg) for arg in argv])
        captured = capsys.readouterr()
        return status, captured.out + caplog.text, captured.err

    return run


def run_args(fixed, output_dir, *extra):
    return [*fixed_data_args(*fixed), "--output_dir", output_dir, "--max_steps", "4", "--save_steps", "2", *extra]


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


# The user's files


def test_a_folder_of_the_users_is_refused_unless_overwrite_which_keeps_its_files(fixed, tmp_path, cli):
    folder = tmp_path / "mine"
    (folder / "checkpoint-3").mkdir(parents=True)
    (folder / "checkpoint-3" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "notes.txt").write_text("my notes\n")

    status, _, stderr = cli(run_args(fixed, folder))
    assert status == 1 and "Traceback" not in stderr
    assert f"error: --output_dir {folder} holds files that no run of scripts/train.py wrote (checkpoint-3, " \
           f"notes.txt): pass a new or empty --output_dir, or --overwrite_output_dir" in stderr
    assert sorted(os.listdir(folder)) == ["checkpoint-3", "notes.txt"]  # not even a lock file was left

    status, stdout, stderr = cli(run_args(fixed, folder, "--overwrite_output_dir"))
    assert status == 0, stderr
    assert (folder / "notes.txt").read_text() == "my notes\n"
    assert f"--overwrite_output_dir: deleted {folder / 'checkpoint-3'} of an earlier run" in stdout
    assert read_json(folder / "checkpoint-4" / "config.json")["model_type"] == "seq2seq_lstm"
    assert {RUN_MARKER, "model.safetensors", "README.md"} <= set(os.listdir(folder))
    assert LOCK_FILE not in os.listdir(folder)  # released and removed when the run ended

    # now the folder is ours: a plain rerun resumes
    status, stdout, stderr = cli(run_args(fixed, folder))
    assert status == 0, stderr
    assert f"Resuming from the latest complete checkpoint in --output_dir: {folder / 'checkpoint-4'}" in stdout


def test_a_readme_we_did_not_write_stops_the_run_before_it_trains(fixed, tmp_path, cli):
    folder = tmp_path / "readme"
    assert cli(run_args(fixed, folder))[0] == 0
    (folder / "README.md").write_text("# My own card\n")  # the user's, over ours
    before = sorted(os.listdir(folder))
    for extra in ((), ("--overwrite_output_dir",)):
        status, _, stderr = cli(run_args(fixed, folder, "--max_steps", "6", *extra))
        assert status == 1 and "Traceback" not in stderr
        assert f"error: {folder / 'README.md'} was not written by hf-seq2seq-lstm, and training ends by writing the " \
               f"model card there: move it elsewhere or use another --output_dir." in stderr
        assert sorted(os.listdir(folder)) == before and (folder / "README.md").read_text() == "# My own card\n"


# An earlier run of another model


def test_a_run_of_another_model_is_refused_and_overwrite_starts_afresh(fixed, tmp_path, cli):
    folder = tmp_path / "run"
    assert cli(run_args(fixed, folder))[0] == 0  # hidden_size 16, checkpoints 2 and 4

    # Resuming checkpoint-4 would end in a load_state_dict traceback: the sizes differ.
    status, _, stderr = cli(run_args(fixed, folder, "--hidden_size", "24", "--max_steps", "6"))
    assert status == 1 and "Traceback" not in stderr
    assert f"error: --output_dir {folder} holds an earlier run whose model differs from this one (a checkpoint " \
           f"{folder / 'checkpoint-4'}): hidden_size is 16 there and 24 here. Rerun with that run's model " \
           f"arguments to resume it, use another --output_dir, or pass --overwrite_output_dir to start afresh " \
           f"there." in stderr
    status, _, stderr = cli(run_args(fixed, folder, "--dropout", "0.1", "--resume_from_checkpoint",
                                     folder / "checkpoint-2"))
    assert status == 1
    assert f"error: --resume_from_checkpoint {folder / 'checkpoint-2'} holds another model than this run builds: " \
           f"dropout is 0.0 there and 0.1 here." in stderr
    status, _, stderr = cli(run_args(fixed, folder, "--overwrite_output_dir", "--resume_from_checkpoint",
                                     folder / "checkpoint-2"))
    assert status == 1 and "pass only one" in stderr

    status, stdout, stderr = cli(run_args(fixed, folder, "--hidden_size", "24", "--overwrite_output_dir"))
    assert status == 0, stderr
    assert "Resuming" not in stdout
    for step in (2, 4):  # the old checkpoints are gone, not mixed with the new ones
        assert read_json(folder / f"checkpoint-{step}" / "config.json")["hidden_size"] == 24
    steps = [entry["step"] for entry in read_json(folder / "trainer_state.json")["log_history"] if "loss" in entry]
    assert steps == [1, 2, 3, 4]  # trained from step 1

    # Without checkpoints, the run's saved model is what a rerun is compared with.
    status, _, stderr = cli(run_args(fixed, folder, "--hidden_size", "24", "--save_strategy", "no",
                                     "--overwrite_output_dir"))
    assert status == 0 and not [name for name in os.listdir(folder) if name.startswith("checkpoint-")]
    status, _, stderr = cli(run_args(fixed, folder, "--cell_type", "gru", "--hidden_size", "24"))
    assert status == 1
    assert f"differs from this one (the model {folder}): cell_type is 'lstm' there and 'gru' here." in stderr


# One run at a time


def test_a_second_run_is_refused_while_one_runs_and_a_killed_run_does_not_block(fixed, tmp_path, cli):
    folder = tmp_path / "busy"
    log = tmp_path / "first.log"
    with open(log, "w") as handle:
        first = subprocess.Popen([PYTHON, "-c", PACED_TRAIN, TRAIN_SCRIPT, *map(str, run_args(fixed, folder)),
                                  "--max_steps", "100000", "--save_strategy", "no"],
                                 stdout=handle, stderr=subprocess.STDOUT, env=subprocess_env(), cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 240
        while "{'loss'" not in log.read_text():  # it is training
            assert first.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.01)
        status, _, stderr = cli(run_args(fixed, folder))
        assert status == 1 and "Traceback" not in stderr
        assert f"error: {folder} is in use by another run (pid {first.pid} on " in stderr
        assert "wait for it to finish or use another --output_dir" in stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    assert os.listdir(folder) == [LOCK_FILE]  # all a run killed before its first checkpoint leaves
    status, _, stderr = cli(run_args(fixed, folder))
    assert status == 0, stderr
    assert RUN_MARKER in os.listdir(folder) and LOCK_FILE not in os.listdir(folder)


# Results files


def test_results_and_state_files_are_replaced_atomically(tmp_path):
    args = Seq2SeqTrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    trainer = Seq2SeqLSTMTrainer(model=make_model(), args=args)
    trainer.save_metrics("train", {"train_loss": 2.0})
    trainer.state.global_step = 3
    trainer.save_state()
    names = ["train_results.json", "all_results.json", "trainer_state.json"]
    for name in names:  # a second name for the file as it is now: a rewrite in place would change it too
        os.link(tmp_path / name, tmp_path / f"old-{name}")

    trainer.save_metrics("train", {"train_loss": 1.0})
    trainer.save_metrics("eval", {"eval_bleu": 5.0})
    trainer.state.global_step = 4
    trainer.save_state()
    assert read_json(tmp_path / "all_results.json") == {"train_loss": 1.0, "eval_bleu": 5.0}
    assert read_json(tmp_path / "train_results.json") == {"train_loss": 1.0}
    assert read_json(tmp_path / "trainer_state.json")["global_step"] == 4
    assert read_json(tmp_path / "old-all_results.json") == read_json(tmp_path / "old-train_results.json") \
        == {"train_loss": 2.0}
    assert read_json(tmp_path / "old-trainer_state.json")["global_step"] == 3

    # A write that fails part-way leaves the files as they were (Trainer's own would leave eval_results.json cut short).
    with pytest.raises(TypeError):
        trainer.save_metrics("eval", {"eval_loss": 1.0, "eval_bleu": object()})
    assert read_json(tmp_path / "eval_results.json") == {"eval_bleu": 5.0}
    assert read_json(tmp_path / "all_results.json") == {"train_loss": 1.0, "eval_bleu": 5.0}
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


# train.py's own flags


@pytest.mark.parametrize("flags, message", [
    (["--vocab_size", "0"], "--vocab_size must be an integer >= 1 (tokens), not 0."),
    (["--max_source_length", "0"], "--max_source_length must be an integer >= 1 (tokens), not 0."),
    (["--max_target_length", "-3"], "--max_target_length must be an integer >= 1 (tokens), not -3."),
    (["--num_beams", "0"], "--num_beams must be an integer >= 1, not 0."),
    (["--max_train_samples", "0"], "--max_train_samples must be an integer >= 1, not 0."),
    (["--max_eval_samples", "-1"], "--max_eval_samples must be an integer >= 1, not -1."),
    (["--max_predict_samples", "0"], "--max_predict_samples must be an integer >= 1, not 0."),
    (["--early_stopping_patience", "0"], "--early_stopping_patience must be an integer >= 1, not 0."),
    (["--max_train_minutes", "0"], "--max_train_minutes must be a finite number > 0 (minutes), not 0.0."),
    (["--max_train_minutes", "nan"], "--max_train_minutes must be a finite number > 0 (minutes), not nan."),
    (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size must be an integer >= 1, not 0."),
    (["--per_device_eval_batch_size", "0"], "--per_device_eval_batch_size must be an integer >= 1, not 0."),
    (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps must be an integer >= 1, not 0."),
    (["--learning_rate=-1e-3"], "--learning_rate must be a finite number >= 0, not -0.001."),
    (["--num_train_epochs", "0"], "--num_train_epochs must be a finite number > 0 (or set --max_steps), not 0.0."),
    (["--save_strategy", "steps", "--save_steps", "0"],
     "--save_steps must be a finite number > 0 (with --save_strategy steps)"),
    (["--generation_num_beams", "0"], "--generation_num_beams must be an integer >= 1, not 0."),
    (["--generation_max_length", "0"], "--generation_max_length must be an integer >= 1, not 0."),
    # the model's fields, checked by its config
    (["--hidden_size", "0"], "invalid hidden_size=0; it must be a positive integer"),
    (["--embedding_size", "-8"], "invalid embedding_size=-8; it must be a positive integer"),
    (["--encoder_layers", "0"], "invalid encoder_layers=0; it must be a positive integer"),
    (["--dropout", "1.5"], "invalid dropout=1.5; it must be in [0, 1)"),
    (["--teacher_forcing_ratio", "-0.5"], "invalid teacher_forcing_ratio=-0.5; it must be in [0, 1]"),
    (["--label_smoothing", "1"], "invalid label_smoothing=1.0; it must be in [0, 1)"),
    (["--config_overrides", "decoder_layers=0"], "invalid decoder_layers=0; it must be a positive integer"),
])
def test_flags_out_of_range_are_refused_before_anything_is_read(tmp_path, cli, flags, message):
    # The training file does not exist: the flag must be what fails, at once.
    status, _, stderr = cli(["--output_dir", tmp_path / "out", "--do_train", "--do_eval", "--train_file",
                             tmp_path / "missing.jsonl", "--report_to", "none", *flags])
    assert status == 1 and "Traceback" not in stderr
    assert message in stderr
    assert not (tmp_path / "out").exists()


# A finished run


def test_rerunning_a_finished_run_trains_nothing_more(fixed, tmp_path, cli):
    # max_steps 4 ends part-way through the first epoch (8 steps of 8 pairs), where Trainer alone would resume from
    # checkpoint-4 and train a step 5; a constant learning rate, so that such a step would move the weights.
    folder = tmp_path / "finished"
    args = run_args(fixed, folder, "--lr_scheduler_type", "constant")
    assert cli(args)[0] == 0
    checkpoints = sorted(name for name in os.listdir(folder) if name.startswith("checkpoint-"))
    assert checkpoints == ["checkpoint-2", "checkpoint-4"]
    weights = load_weights(folder)
    train_results = read_json(folder / "train_results.json")

    status, stdout, stderr = cli(args)  # the same command again
    assert status == 0, stderr
    assert f"Resuming from the latest complete checkpoint in --output_dir: {folder / 'checkpoint-4'}" in stdout
    assert sorted(name for name in os.listdir(folder) if name.startswith("checkpoint-")) == checkpoints
    assert read_json(folder / "trainer_state.json")["global_step"] == 4
    for saved in (load_weights(folder), load_weights(folder / "checkpoint-4")):
        assert saved.keys() == weights.keys()
        assert all(torch.equal(saved[name], weights[name]) for name in weights)
    assert "nothing left to train" in stdout
    assert read_json(folder / "train_results.json") == train_results  # the run that trained, not an empty one
