"""Training under torch.compile (issue 15): what Trainer's --torch_compile runs gives eager's losses and gradients,
and compiles the step-by-step decoder's step once for every target length rather than once per length."""

import json

import pytest
import torch
import torch._dynamo
from torch._dynamo.testing import CompileCounterWithBackend

from conftest import make_model, padded_batch
from reliability_helpers import run_train

TARGET_LENGTHS = (5, 7, 9, 12)


def loss_and_gradients(model, forward, target_length, batch_size=4):
    input_ids, attention_mask = padded_batch(lengths=(7, 4, 6, 2)[:batch_size], seed=target_length)
    labels = torch.randint(4, model.config.decoder_vocab_size or model.config.vocab_size,
                           (batch_size, target_length), generator=torch.Generator().manual_seed(target_length))
    model.zero_grad()
    loss = forward(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("allow_rnn", [False, True], ids=["default", "allow_rnn"])
@pytest.mark.parametrize("overrides", [dict(attention="luong_general", input_feeding=True),
                                       dict(attention="bahdanau", cell_type="gru")], ids=["input_feeding", "bahdanau"])
def test_compiled_training_equals_eager_and_compiles_once_for_every_target_length(overrides, allow_rnn):
    # allow_rnn=True lets dynamo trace through nn.LSTM/GRU modules: then only the frame boundary around the step loop
    # (`Seq2SeqLSTMDecoder._step_by_step`) keeps the loop from being unrolled into one new graph per target length.
    model = make_model(dropout=0.0, **overrides).train()
    counter = CompileCounterWithBackend("aot_eager")
    torch._dynamo.reset()
    with torch._dynamo.config.patch(allow_rnn=allow_rnn):
        compiled = torch.compile(model, backend=counter)
        frames = []
        for length in TARGET_LENGTHS:
            eager_loss, eager_gradients = loss_and_gradients(model, model, length)
            loss, gradients = loss_and_gradients(model, compiled, length)
            torch.testing.assert_close(loss, eager_loss, rtol=1e-5, atol=1e-6)
            assert gradients.keys() == eager_gradients.keys()
            for name, gradient in gradients.items():
                torch.testing.assert_close(gradient, eager_gradients[name], rtol=1e-4, atol=1e-6, msg=name)
            frames.append(counter.frame_count)
    torch._dynamo.reset()
    # The second length recompiles with dynamic sizes (torch.compile's automatic dynamic shapes); after that, none.
    assert frames[1] == frames[-1], f"compiled frames after each target length {TARGET_LENGTHS}: {frames}"


def test_train_script_torch_compile_trains_as_eager_does(tmp_path):
    """`scripts/train.py --torch_compile true` (Trainer's flag, Inductor) trains the step-by-step decoder to eager's
    losses and saves a model that loads."""
    # Each run in a fresh process, as users run train.py: Inductor leaves compile workers and loaded kernels in the
    # process that compiled, and later in-process tests that built a Trainer beside them crashed (a segfault in
    # Trainer.__init__, once in several fresh-clone runs).
    common = ["--do_train", "--max_steps", "8", "--save_strategy", "no", "--hidden_size", "16",
              "--embedding_size", "8", "--vocab_size", "120", "--dropout", "0.0", "--attention", "luong_general",
              "--input_feeding", "true",
              "--per_device_train_batch_size", "8", "--max_train_samples", "64", "--learning_rate", "3e-3",
              "--logging_steps", "4", "--report_to", "none", "--disable_tqdm", "true", "--seed", "0"]
    train_loss = {}
    for name, extra in (("eager", []), ("compiled", ["--torch_compile", "true"])):
        run = run_train(["--output_dir", str(tmp_path / name), *extra, *common], timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        train_loss[name] = json.loads((tmp_path / name / "all_results.json").read_text(encoding="utf-8"))["train_loss"]
    assert train_loss["compiled"] == pytest.approx(train_loss["eager"], rel=1e-4)
    from transformers import AutoModelForSeq2SeqLM
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "compiled")
    reference = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "eager")
    for (name, weight), (_, expected) in zip(reloaded.state_dict().items(), reference.state_dict().items()):
        torch.testing.assert_close(weight, expected, rtol=1e-3, atol=1e-5, msg=name)
