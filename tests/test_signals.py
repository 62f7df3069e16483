"""SIGTERM and SIGINT during scripts/train.py: the optimizer step under way is finished, a complete checkpoint
written, one line says how to resume, the exit status is 128 + the signal's number, and resuming ends with the
weights of an uninterrupted run. Real signals to real processes, sent once the run is seen training."""

import json
import os
import signal
import subprocess
import time

import pytest
import torch.distributed as dist

from hf_seq2seq_lstm.checkpoints import checkpoint_problem
from hf_seq2seq_lstm.training import CheckpointOnSignalCallback

from conftest import PYTHON, REPO_ROOT
from reliability_helpers import (
    RESUME_TOLERANCE,
    TRAIN_SCRIPT,
    fixed_data_args,
    logged_losses,
    max_weight_difference,
    run_train,
    subprocess_env,
)

STEPS = 60

# Runs scripts/train.py (argv: MODE, the script, its arguments) with each training step slowed by 30 ms (numerics
# unchanged), so that a signal surely lands while it trains. MODE "slow_save" also pauses a checkpoint save for a
# second between the weights and the optimizer state, after printing SAVING, so that a signal can land mid-save.
# Under torchrun each process first prints "WORKER <rank> <pid>".
WRAPPER = """
import os, runpy, sys, time
import hf_seq2seq_lstm.training as training
trainer = training.Seq2SeqLSTMTrainer
step, save = trainer.training_step, trainer._save_optimizer_and_scheduler
def paced(self, *args, **kwargs):
    time.sleep(0.03)
    return step(self, *args, **kwargs)
def slow_save(self, *args, **kwargs):
    print("SAVING", flush=True)
    time.sleep(1)
    return save(self, *args, **kwargs)
trainer.training_step = paced
if sys.argv[1] == "slow_save":
    trainer._save_optimizer_and_scheduler = slow_save
if "RANK" in os.environ:
    print("WORKER", os.environ["RANK"], os.getpid(), flush=True)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_args(fixed, output_dir, batch_size=8):
    return [*fixed_data_args(*fixed, batch_size=batch_size), "--output_dir", str(output_dir), "--max_steps",
            str(STEPS), "--save_strategy", "no"]


@pytest.fixture(scope="module")
def reference_run(fixed, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    result = run_train(run_args(fixed, output_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


class Run:
    """A training run in a subprocess, its stdout and stderr in files."""

    def __init__(self, command, folder):
        self.out, self.err = folder / "stdout.log", folder / "stderr.log"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=subprocess_env(), cwd=REPO_ROOT)

    def wait_for(self, text, timeout=240):
        """Until `text` is in its stdout (it is not sleeping blindly)."""
        deadline = time.monotonic() + timeout
        while text not in self.out.read_text():
            assert self.process.poll() is None, self.err.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{text!r} did not appear"
            time.sleep(0.01)
        return self.out.read_text()

    def finish(self, timeout=120):
        self.process.wait(timeout=timeout)
        return self.process.returncode, self.err.read_text()


def stop_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("Stopped by ")]


def stopped_checkpoint(output_dir):
    """The one folder the stopped run left: its checkpoint, which must be complete."""
    (name,) = os.listdir(output_dir)  # no final model, and no lock file: it was released
    checkpoint = output_dir / name
    assert checkpoint_problem(checkpoint) is None
    step = json.loads((checkpoint / "trainer_state.json").read_text())["global_step"]
    assert name == f"checkpoint-{step}" and 0 < step < STEPS
    return checkpoint, step


def assert_like_the_uninterrupted_run(output_dir, reference_run):
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == STEPS
    assert max_weight_difference(reference_run, output_dir) <= RESUME_TOLERANCE
    losses = logged_losses(output_dir)
    assert losses == pytest.approx(logged_losses(reference_run)[-len(losses):], rel=RESUME_TOLERANCE)


def test_sigterm_writes_a_checkpoint_and_rerunning_the_command_resumes_it(fixed, reference_run, tmp_path):
    output_dir = tmp_path / "out"
    args = run_args(fixed, output_dir)
    run = Run([PYTHON, "-c", WRAPPER, "paced", TRAIN_SCRIPT, *args], tmp_path)
    run.wait_for("{'loss'")
    run.process.send_signal(signal.SIGTERM)
    status, stderr = run.finish()

    assert status == 128 + signal.SIGTERM == 143
    assert "Traceback" not in stderr
    checkpoint, step = stopped_checkpoint(output_dir)
    assert stop_lines(stderr) == [
        f"Stopped by SIGTERM after step {step}, with a complete checkpoint in {checkpoint}. To resume, run the same "
        f"command again, or one with --resume_from_checkpoint {checkpoint}."]

    resumed = run_train(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from the latest complete checkpoint in --output_dir: {checkpoint}" in resumed.stdout
    assert_like_the_uninterrupted_run(output_dir, reference_run)


def test_sigint_then_a_second_signal_while_saving_still_ends_with_a_complete_checkpoint(fixed, reference_run,
                                                                                         tmp_path):
    output_dir = tmp_path / "out"
    args = run_args(fixed, output_dir)
    run = Run([PYTHON, "-c", WRAPPER, "slow_save", TRAIN_SCRIPT, *args], tmp_path)
    run.wait_for("{'loss'")
    run.process.send_signal(signal.SIGINT)
    run.wait_for("SAVING")  # the weights are written, the optimizer state is not yet
    run.process.send_signal(signal.SIGTERM)  # ignored: the checkpoint is finished first
    status, stderr = run.finish()

    assert status == 128 + signal.SIGINT == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    checkpoint, step = stopped_checkpoint(output_dir)
    (line,) = stop_lines(stderr)
    assert line.startswith(f"Stopped by SIGINT after step {step}, with a complete checkpoint in {checkpoint}.")

    resumed = run_train([*args, "--resume_from_checkpoint", str(checkpoint)])  # the other way the line offers
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_like_the_uninterrupted_run(output_dir, reference_run)


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                    reason="needs torch.distributed with the gloo backend")
def test_under_torchrun_a_signal_to_one_process_stops_every_process_at_the_same_step(fixed, tmp_path):
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    output_dir = tmp_path / "out"
    run = Run([PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(wrapper), "paced",
               TRAIN_SCRIPT, *run_args(fixed, output_dir, batch_size=4), "--ddp_find_unused_parameters", "false"],
              tmp_path)
    stdout = run.wait_for("{'loss'")
    (worker,) = [line.split()[2] for line in stdout.splitlines() if line.startswith("WORKER 1 ")]
    os.kill(int(worker), signal.SIGTERM)  # to process 1 only: process 0 must stop with it, not wait for it forever
    status, stderr = run.finish()

    assert status != 0  # torchrun reports a worker's exit status 143 as a failure, with a traceback of its own
    assert "exitcode  : 143" in stderr and 'scripts/train.py", line' not in stderr  # but no worker has one
    checkpoint, step = stopped_checkpoint(output_dir)
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= set(os.listdir(checkpoint))  # both processes saved their part
    (line,) = stop_lines(stderr)  # from process 0 only
    assert line.startswith(f"Stopped by SIGTERM after step {step}, with a complete checkpoint in {checkpoint}.")


def test_handlers_are_restored_and_a_signal_no_step_acted_on_goes_to_the_previous_handler():
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    # what SIGINT had before (Python's default_int_handler; SIG_IGN in a process started in the background)
    previous_int = signal.getsignal(signal.SIGINT)
    try:
        callback = CheckpointOnSignalCallback()
        with callback.handling_signals():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)  # a second signal: ignored
            assert received == [] and callback.received == signal.SIGTERM
        # training ended before a step end saw it: the previous handler gets it now, once
        assert received == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGINT) is previous_int
        assert callback.stopped_at is None and callback.exit_status is None
    finally:
        signal.signal(signal.SIGTERM, previous)
