"""Trustworthy under faults, bad input and untrusted files.

Faults: a run killed with SIGKILL resumes to the weights of an uninterrupted run; a half-written checkpoint is
skipped with a message; a non-finite loss stops training with a message naming the step. Bad input: every kind gets
an error saying what is wrong and what to do, through scripts/train.py and scripts/translate.py. Security: no
pickle is ever loaded; the files copied for trust_remote_code import nothing unexpected and do no I/O at import.
"""

import ast
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
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
from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.tokenization import load_tokenizer, train_tokenizers
from hf_seq2seq_lstm.training import new_model

from conftest import PYTHON, REPO_ROOT, VOCAB, load_script, make_model
from reliability_helpers import (
    PACED_TRAIN,
    RESUME_TOLERANCE,
    TRAIN_SCRIPT,
    all_finite,
    fixed_data_args,
    load_weights,
    logged_losses,
    max_weight_difference,
    run_train,
    subprocess_env,
)

PACKAGE = REPO_ROOT / "hf_seq2seq_lstm"
STEPS, SAVE_STEPS = 40, 5


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


def run_args(fixed, output_dir):
    return [*fixed_data_args(*fixed), "--output_dir", str(output_dir), "--max_steps", str(STEPS),
            "--save_steps", str(SAVE_STEPS)]


def cli(script, argv, capsys):
    """Runs a script's main through run_cli in this process: (exit status, stderr)."""
    capsys.readouterr()
    status = run_cli(script.main, [str(arg) for arg in argv])
    return status, capsys.readouterr().err


def truncate(path, keep=0.5):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])


# Faults


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


# Bad input, through scripts/train.py


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _bad_data(tmp_path):
    """Every bad data file, with the train.py arguments that read it."""
    write_lines(tmp_path / "uneven.de", ["eins", "zwei", "drei"])
    write_lines(tmp_path / "uneven.en", ["one", "two"])
    (tmp_path / "latin1.de").write_bytes("eins\nzwölf\n".encode("latin-1"))
    write_lines(tmp_path / "latin1.en", ["one", "twelve"])
    (tmp_path / "pairs.jsonl").write_text(
        json.dumps({"translation": {"de": "eins", "en": "one"}}) + "\n", encoding="utf-8")
    (tmp_path / "docs.json").write_text(json.dumps([{"document": "a b c", "summary": "a"}]), encoding="utf-8")
    return {
        "uneven": ["--train_file", tmp_path / "uneven", "--source_lang", "de", "--target_lang", "en"],
        "latin1": ["--train_file", tmp_path / "latin1", "--source_lang", "de", "--target_lang", "en"],
        "language": ["--train_file", tmp_path / "pairs.jsonl", "--source_lang", "fr", "--target_lang", "en"],
        "columns": ["--train_file", tmp_path / "docs.json", "--text_column", "text", "--summary_column", "summary"],
    }


@pytest.mark.parametrize("case, expected", [
    ("uneven", ["Parallel files differ in length", "uneven.de' has 3 lines", "uneven.en' has 2", "realign them"]),
    ("latin1", ["latin1.de', line 2: bytes that are not valid UTF-8", "Convert it to UTF-8", "iconv"]),
    ("language", ["no language(s) ['fr']; it has ['de', 'en']", "Set source_lang and target_lang"]),
    ("columns", ["Columns ['text'] not found; the dataset has columns ['document', 'summary']",
                 "Set text_column and summary_column"]),
])
def test_bad_data_gets_a_clear_error_from_train_py(tmp_path, capsys, case, expected):
    args = _bad_data(tmp_path)[case]
    status, stderr = cli(train_script, ["--output_dir", tmp_path / "out", "--do_train", *args], capsys)
    assert status == 1
    assert "error: " in stderr and "Traceback" not in stderr
    for text in expected:
        assert text in stderr


def test_train_py_exits_with_status_1_and_no_traceback(tmp_path):
    """The same, as a user runs it: a fresh process, its exit status and its stderr."""
    args = _bad_data(tmp_path)["uneven"]
    result = run_train(["--output_dir", str(tmp_path / "out"), "--do_train", *map(str, args)])
    assert result.returncode == 1
    assert "error: Parallel files differ in length" in result.stderr and "Traceback" not in result.stderr


def test_blank_lines_and_truncation_are_counted_in_the_train_py_log(fixed, tmp_path, caplog):
    _, tokenizer = fixed
    # digits tokenize one per token after "▁", plus </s>: "12345678" is 10 tokens, "123" is 5
    write_lines(tmp_path / "train.src", ["12345678", "123", "   ", "1234567", "", "12"])
    write_lines(tmp_path / "train.tgt", ["1", "2", "3", "4", "5", "", ])
    with caplog.at_level(logging.WARNING):
        train_script.main(["--output_dir", str(tmp_path / "out"), "--train_file", str(tmp_path / "train"),
                           "--source_lang", "src", "--target_lang", "tgt", "--tokenizer_name", str(tokenizer),
                           "--do_train", "--max_steps", "1", "--save_strategy", "no", "--max_source_length", "6",
                           "--hidden_size", "8", "--embedding_size", "8", "--report_to", "none", "--use_cpu", "true"])
    assert "Split 'train': skipped 3 of 6 pairs whose source or target is empty or whitespace-only" in caplog.text
    assert "Split 'train': truncated 2 of 3 sources to 6 tokens and 0 targets to 128 tokens" in caplog.text
    assert "raise --max_source_length / --max_target_length" in caplog.text


# Bad models and tokenizers


@pytest.fixture(scope="module")
def saved_model(fixed, tmp_path_factory):
    """A tiny model with its (15-token, digit-level) tokenizer."""
    output_dir = tmp_path_factory.mktemp("saved")
    tokenizer = load_tokenizer(fixed[1])
    torch.manual_seed(0)
    new_model(tokenizer, hidden_size=8, embedding_size=8, attention="luong_general").save_pretrained(
        output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


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
        (translate_script, ["--model", folder, "--tokenizer", fixed[1], "--input", tmp_path / "in.txt",
                            "--no_progress"]),
    ):
        status, stderr = cli(script, argv, capsys)
        assert status == 1 and message in stderr and "Traceback" not in stderr


def test_tokenizer_that_does_not_match_the_model_is_refused_by_train_py(saved_model, fixed, tmp_path, capsys):
    common = ["--train_file", fixed[0], "--source_lang", "src", "--target_lang", "tgt", "--do_train",
              "--max_steps", "1", "--output_dir", tmp_path / "out", "--model_name_or_path", saved_model]
    # a larger vocabulary than the model's embedding
    bigger = train_tokenizers(["a b c d e f g h i j k l m n o p q r s t u v w x y z"] * 3, ["x"], vocab_size=60)
    bigger.save_pretrained(tmp_path / "bigger")
    status, stderr = cli(train_script, [*common, "--tokenizer_name", tmp_path / "bigger"], capsys)
    assert status == 1
    assert (f"The tokenizer's source vocabulary has {len(bigger)} tokens but the model's source embedding has 15"
            in stderr)
    assert "Use the tokenizer the model was trained with, or call model.resize_token_embeddings" in stderr

    # special-token ids that disagree with config.json
    tokenizer = load_tokenizer(saved_model)
    tokenizer.pad_token = "</s>"
    tokenizer.save_pretrained(tmp_path / "other_pad")
    status, stderr = cli(train_script, [*common, "--tokenizer_name", tmp_path / "other_pad"], capsys)
    assert status == 1
    assert "Special token mismatch: the tokenizer's pad_token_id is 2 but the model's config says 0" in stderr
    assert "Use the tokenizer saved with the model" in stderr


def test_token_ids_outside_the_vocabulary_are_refused():
    model = make_model()
    ok = torch.tensor([[5, 6, 7]])
    for inputs, name in (
        (dict(input_ids=torch.tensor([[5, VOCAB]]), labels=ok), "input_ids"),
        (dict(input_ids=ok, decoder_input_ids=torch.tensor([[1, -3]])), "decoder_input_ids"),
        (dict(input_ids=ok, labels=torch.tensor([[5, -100, VOCAB + 7]])), "labels"),  # the last label is never fed
    ):
        with pytest.raises(ValueError, match=rf"{name} holds token ids outside \[0, {VOCAB}\)") as error:
            model(**inputs)
        assert "use the tokenizer saved with the model" in str(error.value)
    assert model(input_ids=ok, labels=torch.tensor([[5, -100, 2]])).loss.isfinite()  # -100 is fine


def test_generate_refuses_an_empty_batch_and_all_padding_sources():
    model = make_model()
    with pytest.raises(ValueError, match="The batch is empty: pass at least one source sequence"):
        model.generate(input_ids=torch.zeros(0, 4, dtype=torch.long), max_new_tokens=3)
    with pytest.raises(ValueError, match=r"Source sequence\(s\) \[1\] of the batch are all padding") as error:
        model.generate(input_ids=torch.tensor([[5, 6], [0, 0]]), attention_mask=torch.tensor([[1, 1], [0, 0]]),
                       max_new_tokens=3)
    assert "Drop empty inputs before calling the model, or give them at least an EOS token" in str(error.value)


# Security


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
    status, stderr = cli(translate_script, ["--model", folder, "--input", os.devnull, "--no_progress"], capsys)
    assert status == 1 and "pickle format" in stderr
    with pytest.raises(CheckpointError, match="pickle weights are refused"):
        load_model(saved_model, use_safetensors=False)
    assert not marker.exists()


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _keyword(call, name):
    return next((ast.unparse(k.value) for k in call.keywords if k.arg == name), None)


def test_no_unsafe_loading_anywhere_in_the_repo():
    """Every torch.load passes weights_only=True, no pickle-family module is imported, and every model
    from_pretrained outside tests asks for safetensors (the scripts go through load_model, which does)."""
    files = [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "scripts").glob("*.py")]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + ([node.module] if getattr(node, "module", None) else [])
                assert not {"pickle", "dill", "joblib", "cloudpickle"} & {n.split(".")[0] for n in names}, path
        for call, func in _calls(tree):
            if func == "torch.load":
                assert _keyword(call, "weights_only") == "True", f"{path}:{call.lineno}"
            if func.endswith(".from_pretrained") and "Model" in func:
                assert _keyword(call, "use_safetensors") == "True", f"{path}:{call.lineno}: {func}"


def test_the_trainer_resumes_with_weights_only_torch_load():
    """What remains of torch.load (optimizer, scheduler, RNG states on resume) is transformers': check that 5.23 still
    restricts it to tensors and plain containers, so an upgrade that drops it fails here."""
    import transformers

    root = Path(transformers.__file__).parent
    found = 0
    for name in ("trainer.py", "trainer_utils.py", "trainer_pt_utils.py"):
        for call, func in _calls(ast.parse((root / name).read_text(encoding="utf-8"))):
            if func == "torch.load" or (func == "partial" and call.args and ast.unparse(call.args[0]) == "torch.load"):
                found += 1
                assert _keyword(call, "weights_only") == "True", f"transformers/{name}:{call.lineno}"
    assert found >= 5


REMOTE_CODE_FILES = ["configuration_seq2seq_lstm.py", "modeling_seq2seq_lstm.py", "pipeline_seq2seq_lstm.py",
                     "tokenization_seq2seq_lstm.py"]
# What the remote code may import besides the standard library: transformers' own dependencies, and of
# huggingface_hub only the dataclass validation that transformers 5's configs use (`@strict`), no network code.
ALLOWED_IMPORTS = {"torch", "transformers", "tokenizers", "huggingface_hub.dataclasses"}
# Modules that could reach the network, run programs, load code or unpickle: never imported by remote code.
FORBIDDEN_MODULES = {"subprocess", "socket", "ssl", "http", "urllib", "requests", "httpx", "pickle", "marshal",
                     "shelve", "ctypes", "importlib", "runpy", "multiprocessing", "pty", "code", "codeop",
                     "huggingface_hub"}


@pytest.mark.parametrize("name", REMOTE_CODE_FILES)
def test_remote_code_files_import_only_torch_transformers_and_the_standard_library(name):
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    siblings = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            # single-level sibling imports only (transformers copies those files along)
            assert node.level == 1 and node.module in siblings and node.module + ".py" in REMOTE_CODE_FILES, \
                ast.unparse(node)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
            for module in modules:
                top = module.split(".")[0]
                if module in ALLOWED_IMPORTS:
                    continue
                assert top in ALLOWED_IMPORTS or top in sys.stdlib_module_names, ast.unparse(node)
                assert top not in FORBIDDEN_MODULES, ast.unparse(node)
    # and nothing that turns text (e.g. a config value) into code
    for call, func in _calls(tree):
        assert func not in ("eval", "exec", "compile", "__import__", "globals", "locals"), \
            f"{name}:{call.lineno}: {func}"


NO_IO_AT_IMPORT = """
import builtins, io, os, socket, sys, types
import torch, transformers
from transformers import GenerationMixin, GenerationConfig, Pipeline, PretrainedConfig, PreTrainedModel, AutoTokenizer
from transformers import initialization, cache_utils, modeling_outputs, utils

def refuse(*args, **kwargs):
    raise AssertionError(f"I/O or network at import: {args[:2]}")

import importlib
patched = [(builtins, "open"), (io, "open"), (os, "open"), (socket, "socket"), (socket, "create_connection"),
           (socket, "getaddrinfo")] + [(os, name) for name in ("listdir", "scandir", "remove", "unlink", "mkdir",
                                                              "makedirs", "rename", "replace", "system", "popen")]
saved = [(module, name, getattr(module, name)) for module, name in patched]
for module, name in patched:
    setattr(module, name, refuse)
try:
    package = types.ModuleType("remote_code")
    package.__path__ = [sys.argv[1]]
    sys.modules["remote_code"] = package
    for name in sys.argv[2:]:
        importlib.import_module("remote_code." + name)
finally:
    for module, name, value in saved:
        setattr(module, name, value)
print("imported", sorted(m for m in sys.modules if m.startswith("remote_code.")))
"""


def test_remote_code_files_do_no_io_or_network_at_import(tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    for name in REMOTE_CODE_FILES:
        shutil.copy(PACKAGE / name, folder / name)
    modules = [name[:-3] for name in REMOTE_CODE_FILES]
    env = subprocess_env()
    env.pop("PYTHONPATH", None)
    result = subprocess.run([PYTHON, "-c", NO_IO_AT_IMPORT, str(folder), *modules], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for module in modules:
        assert f"remote_code.{module}" in result.stdout


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
