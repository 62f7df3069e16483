"""A diverging run (scripts/train.py): a non-finite loss stops training before the optimizer step, naming the step,
with the last good checkpoint intact; weights that overflow are never saved. (Under torchrun all processes stop
together: test_distributed.py.)"""

import os

from hf_seq2seq_lstm.checkpoints import checkpoint_problem

from reliability_helpers import all_finite, fixed_data_args, run_args, run_train

# Runs scripts/train.py with the loss of training step 8 turned into nan, as a bad batch would.
NAN_AT_STEP_8 = """
import runpy, sys
import hf_seq2seq_lstm.training as training
compute_loss = training.Seq2SeqLSTMTrainer.compute_loss
def poisoned(self, model, inputs, *args, **kwargs):
    loss = compute_loss(self, model, inputs, *args, **kwargs)
    return loss * float("nan") if self.state.global_step == 7 else loss
training.Seq2SeqLSTMTrainer.compute_loss = poisoned
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_non_finite_loss_stops_training_with_a_message_and_keeps_the_last_checkpoint(fixed, tmp_path):
    output_dir = tmp_path / "diverged"
    result = run_train([*run_args(fixed, output_dir), "--max_steps", "20"], prefix=["-c", NAN_AT_STEP_8])
    assert result.returncode == 1
    assert "error: Training loss became nan at step 8; the optimizer step was not taken and the last good " \
           f"checkpoint in {output_dir} is intact" in result.stderr
    assert "--resume_from_checkpoint" in result.stderr and "--learning_rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(output_dir)) == ["checkpoint-5"]  # nothing saved after the bad step
    assert checkpoint_problem(output_dir / "checkpoint-5") is None and all_finite(output_dir / "checkpoint-5")


def test_weights_that_overflow_are_never_saved(fixed, tmp_path):
    output_dir = tmp_path / "overflowed"
    # A real divergence: Adam's first step with lr 1e38 is 1e38 / (1 - 0.9) = inf, while step 1's loss was finite.
    result = run_train([*fixed_data_args(*fixed), "--output_dir", str(output_dir), "--max_steps", "10",
                        "--save_steps", "1", "--learning_rate", "1e38", "--max_grad_norm", "0"])
    assert result.returncode == 1
    assert "error: The weights became non-finite by step 1" in result.stderr
    assert "Nothing was saved" in result.stderr and "Traceback" not in result.stderr
    assert not output_dir.exists() or not os.listdir(output_dir)
