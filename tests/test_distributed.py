"""scripts/train.py, unchanged, under torchrun and accelerate launch: 2 CPU processes (DDP over gloo) train exactly
like 1 process with the same global batch and seed, and stop together on a non-finite loss.

What makes the runs comparable: the same global batch (per-device batch halved); the same data order (the Trainer's
seeded sampler yields one permutation, which accelerate deals out to the processes batch by batch, so process k's
half of step t is the k-th half of the single process's batch t); no dropout; and equal target token counts on every
process. The last matters because the loss is a mean over each process's tokens and DDP averages the processes'
gradients, which equals the mean over all the batch's tokens only when every process holds as many tokens: the data
here has fixed-length targets, so every batch does.
"""

import json
import os
import subprocess

import pytest
import torch.distributed as dist

from conftest import PYTHON, REPO_ROOT
from reliability_helpers import (
    TRAIN_SCRIPT,
    all_finite,
    fixed_data_args,
    logged_losses,
    max_weight_difference,
    subprocess_env,
)

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="needs torch.distributed with the gloo backend")

STEPS = 10  # 64 examples / global batch 8: crosses an epoch boundary (the sampler reshuffles)
COMMON = ["--max_steps", str(STEPS), "--save_strategy", "no", "--ddp_find_unused_parameters", "false"]
LAUNCHERS = {
    "torchrun": [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
    # --multi_gpu selects accelerate's torchrun-based launcher; --use_cpu true (below) makes it gloo on CPU.
    "accelerate": [PYTHON, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                   "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
                   "0"],
}


@pytest.fixture(scope="module")
def single_process_run(fixed, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("single")
    result = subprocess.run([PYTHON, TRAIN_SCRIPT, *fixed_data_args(*fixed, batch_size=8), *COMMON,
                             "--output_dir", str(output_dir)],
                            capture_output=True, text=True, timeout=300, env=subprocess_env(), cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


# What a process that died says about why: Python's traceback, or C++'s `terminate called after throwing ...` and
# `what(): ...` from gloo (which ends the process with SIGABRT), lines a plain tail of the log buries under the
# other process's output.
WHY_A_PROCESS_DIED = ("Traceback", "Error", "terminate called", "what():", "Signal ", "exitcode")


def failure_report(log: str) -> str:
    """The lines of a failed launch's `log` that say why a process died, then its last 2,000 characters."""
    reasons = [line for line in log.splitlines() if any(marker in line for marker in WHY_A_PROCESS_DIED)]
    return "\n".join(reasons[:40]) + "\n...\n" + log[-2000:]


def launch(launcher, script, args, timeout=300):
    return subprocess.run([*LAUNCHERS[launcher], script, *args], capture_output=True, text=True, timeout=timeout,
                          env=subprocess_env(), cwd=REPO_ROOT)


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_two_ddp_processes_match_one_process_with_the_same_global_batch(fixed, single_process_run, tmp_path,
                                                                        launcher):
    output_dir = tmp_path / "ddp"
    result = launch(launcher, TRAIN_SCRIPT, [*fixed_data_args(*fixed, batch_size=4), *COMMON, "--output_dir",
                                             str(output_dir), "--log_level", "info"])
    log = result.stdout + result.stderr
    assert result.returncode == 0, failure_report(log)

    # it really ran as 2 processes of 4 examples each
    assert "Total train batch size (w. parallel, distributed & accumulation) = 8" in log
    assert json.loads((output_dir / "trainer_state.json").read_text())["train_batch_size"] == 4

    single_losses, ddp_losses = logged_losses(single_process_run), logged_losses(output_dir)
    assert len(single_losses) == len(ddp_losses) == STEPS
    for step, (a, b) in enumerate(zip(single_losses, ddp_losses), start=1):
        assert abs(a - b) <= 1e-5, (step, a, b)
    assert max_weight_difference(single_process_run, output_dir) <= 1e-5


# Runs scripts/train.py with the loss of process 1 turned into nan at step 3.
NAN_ON_RANK_1 = """
import os, runpy, sys
import hf_seq2seq_lstm.training as training
compute_loss = training.Seq2SeqLSTMTrainer.compute_loss
def poisoned(self, model, inputs, *args, **kwargs):
    loss = compute_loss(self, model, inputs, *args, **kwargs)
    return loss * float("nan") if self.state.global_step == 2 and os.environ["RANK"] == "1" else loss
training.Seq2SeqLSTMTrainer.compute_loss = poisoned
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_non_finite_loss_on_one_process_stops_every_process(fixed, tmp_path):
    wrapper = tmp_path / "nan_on_rank_1.py"
    wrapper.write_text(NAN_ON_RANK_1, encoding="utf-8")
    output_dir = tmp_path / "ddp"
    result = launch("torchrun", str(wrapper), [TRAIN_SCRIPT, *fixed_data_args(*fixed, batch_size=4), "--output_dir",
                                               str(output_dir), "--max_steps", str(STEPS), "--save_steps", "2"])
    assert result.returncode != 0
    assert "[rank 1] error: Training loss became nan at step 3" in result.stderr
    assert "[rank 0] error: Training loss became non-finite on another process at step 3" in result.stderr
    assert sorted(os.listdir(output_dir)) == ["checkpoint-2"]
    assert all_finite(output_dir / "checkpoint-2")
