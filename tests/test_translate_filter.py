"""scripts/translate.py as a unix filter and under faults, in real subprocesses with real pipes and signals.

stdout holds the outputs only (progress, scores and counts go to stderr); `| head -1` ends it quietly with status
141; blank lines stay blank and are not translated; long sources are reported; a SIGKILL, SIGTERM, Ctrl-C or a full
disk while --output is written leaves the old file; every numeric flag is range-checked as a usage error.
"""

import io
import json
import logging
import resource
import signal
import subprocess
import time

import pytest

from hf_seq2seq_lstm.checkpoints import load_model
from hf_seq2seq_lstm.inference import translate
from hf_seq2seq_lstm.tokenization import load_tokenizer

from conftest import PYTHON, REPO_ROOT, load_script
from reliability_helpers import save_digit_model, subprocess_env

TRANSLATE_SCRIPT = str(REPO_ROOT / "scripts" / "translate.py")
translate_script = load_script("translate")

# With the digit tokenizer of the fixed-length task, "12345678" is 10 tokens (</s> included).
MAX_SOURCE_LENGTH = 10
GENERATE = ["--max_new_tokens", "8", "--max_source_length", str(MAX_SOURCE_LENGTH)]


@pytest.fixture(scope="module")
def model(fixed, tmp_path_factory):
    """A tiny untrained model with large weights (non-empty outputs that differ by input) and its tokenizer."""
    return save_digit_model(fixed, tmp_path_factory.mktemp("model"), hidden_size=8, attention="luong_general")


@pytest.fixture(scope="module")
def loaded(model):
    return load_model(model), load_tokenizer(model)


def expected_outputs(loaded, texts):
    """What the script must print for `texts` under GENERATE: translate() in this process."""
    return translate(*loaded, texts, max_source_length=MAX_SOURCE_LENGTH, max_new_tokens=8, progress=False)


def run_translate(model, *args, stdin=b"", prefix=(), **popen):
    """scripts/translate.py (after `prefix`, e.g. `-c WRAPPER`) in a fresh process; returns the CompletedProcess."""
    return subprocess.run([PYTHON, *prefix, TRANSLATE_SCRIPT, "--model_name_or_path", str(model), *args], input=stdin,
                          capture_output=True, env=subprocess_env(), cwd=REPO_ROOT, timeout=120, **popen)


# The unix filter


def test_stdin_to_stdout_keeps_blank_lines_blank_and_reports_on_stderr(model, loaded, tmp_path):
    long_source = "1234567890123"  # 15 tokens: truncated to MAX_SOURCE_LENGTH
    texts = ["12345678", "", "   ", "87654321", long_source]
    # a byte-order mark first, a Windows line break, and progress bars on: none of it may reach stdout
    stdin = b"\xef\xbb\xbf12345678\n\n   \n87654321\r\n" + long_source.encode() + b"\n"
    (tmp_path / "refs.txt").write_text("1\n\n\n2\n3\n", encoding="utf-8")
    result = run_translate(model, *GENERATE, "--references", tmp_path / "refs.txt", "--metrics_file",
                           tmp_path / "scores.json", stdin=stdin)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr[-3000:]
    expected = expected_outputs(loaded, [text for text in texts if text.strip()])
    assert result.stdout.decode().split("\n") == [expected[0], "", "", expected[1], expected[2], ""]
    assert all(expected)  # the blank lines are not empty model outputs by chance
    assert "2 blank input lines left blank (not sent to the model)." in stderr
    assert (f"1 of 5 input lines are longer than max_source_length={MAX_SOURCE_LENGTH} tokens and were truncated "
            "to it (line 5); raise --max_source_length to translate them whole.") in stderr
    assert "translating" in stderr  # the progress bar
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["sentences"] == 5 and json.dumps(scores) in stderr


def test_empty_stdin_gives_empty_output(model):
    result = run_translate(model, "--disable_tqdm")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert result.stdout == b"" and b"Traceback" not in result.stderr


def test_input_file_gets_the_same_blank_line_and_length_reports(model, loaded, tmp_path, caplog):
    lines = ["1234567890123", "", *(["123456789012345"] * 6), "12"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        translate_script.main(["--model_name_or_path", str(model), "--input", str(tmp_path / "in.txt"), "--output",
                               str(tmp_path / "out.txt"), "--disable_tqdm", *GENERATE])
    assert "1 blank input line left blank (not sent to the model)." in caplog.text
    assert ("7 of 9 input lines are longer than max_source_length=10 tokens and were truncated to it (lines 1, 3, "
            "4, 5, 6 and 2 more)") in caplog.text
    expected = expected_outputs(loaded, [line for line in lines if line])
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines() == [expected[0], "", *expected[1:]]


def test_blank_texts_are_never_sent_to_the_model(loaded, monkeypatch):
    model, tokenizer = loaded
    rows = []
    generate = model.generate

    def counting_generate(**inputs):
        rows.append(len(inputs["input_ids"]))
        return generate(**inputs)

    monkeypatch.setattr(model, "generate", counting_generate)
    outputs, attentions = translate(model, tokenizer, ["12345678", " ", "", "87654321"], num_beams=2,
                                    num_return_sequences=2, return_attentions=True, progress=False, max_new_tokens=8)
    assert sum(rows) == 2
    assert outputs[1] == outputs[2] == ["", ""] and all(outputs[0]) and all(outputs[3])
    assert attentions[1] is attentions[2] is None and attentions[0] is not None
    assert [translate_script.output_line(output) for output in outputs[1:3]] == ["", ""]
    assert translate(model, tokenizer, ["", "\t"], progress=False) == ["", ""]
    assert translate(model, tokenizer, [], progress=False) == []
    assert sum(rows) == 2  # neither called the model


def test_stdin_that_is_not_utf8_is_refused_with_its_line_number(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"12\n\xff\xfe\n")))
    with pytest.raises(ValueError, match=r"stdin, line 2: bytes that are not valid UTF-8"):
        translate_script.read_stdin_lines()


def test_head_1_ends_it_quietly_with_the_status_of_sigpipe(model, loaded, tmp_path):
    # 200 kB of output (blank lines cost no translation) is far more than a pipe holds (64 kB) plus what `head`
    # reads before it exits, so translate.py surely writes to a pipe that nobody reads any more.
    (tmp_path / "in.txt").write_text("12345678\n" + "\n" * 200_000, encoding="utf-8")
    with open(tmp_path / "in.txt", "rb") as stdin, open(tmp_path / "stderr", "wb") as stderr:
        process = subprocess.Popen([PYTHON, TRANSLATE_SCRIPT, "--model_name_or_path", str(model), *GENERATE],
                                   stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, env=subprocess_env(),
                                   cwd=REPO_ROOT)
        head = subprocess.Popen(["head", "-1"], stdin=process.stdout, stdout=subprocess.PIPE)
        process.stdout.close()  # head holds the only read end now
        first_line, _ = head.communicate(timeout=120)
        process.wait(timeout=120)
    stderr = (tmp_path / "stderr").read_text()
    assert first_line.decode() == expected_outputs(loaded, ["12345678"])[0] + "\n"
    assert process.returncode == 128 + signal.SIGPIPE, stderr[-3000:]
    assert "200000 blank input lines left blank" in stderr  # it ran to the end ...
    for noise in ("Broken pipe", "BrokenPipeError", "Exception ignored", "Traceback", "error:"):
        assert noise not in stderr  # ... and stopped without a word


# Faults while --output is written

# Runs scripts/translate.py and stops it inside the atomic write of --output, when the temporary file holds all of
# the new content but is not yet renamed over the old file: it creates the file named by $PAUSED and sleeps, so the
# test signals it at that very point rather than at a moment that depends on timing. (The first regular file the
# script fsyncs is that temporary file; the later fsync of its folder is not a regular file.)
PAUSED_WRITE = """
import os, runpy, stat, sys, time
fsync = os.fsync
def paused_fsync(descriptor):
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        open(os.environ["PAUSED"], "w").close()
        while True:
            time.sleep(1)
    fsync(descriptor)
os.fsync = paused_fsync
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

OLD_OUTPUT = "the previous output\n"


def output_folder(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "out.txt").write_text(OLD_OUTPUT, encoding="utf-8")
    return folder


@pytest.mark.parametrize("signum, status", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 143),
                                            (signal.SIGINT, 130)], ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_signal_while_output_is_written_leaves_the_old_file(model, tmp_path, signum, status):
    sources = [f"{number:08d}" for number in range(40)]
    (tmp_path / "in.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    folder = output_folder(tmp_path)
    paused = tmp_path / "paused"
    with open(tmp_path / "stderr", "wb") as stderr:
        process = subprocess.Popen(
            [PYTHON, "-c", PAUSED_WRITE, TRANSLATE_SCRIPT, "--model_name_or_path", str(model), "--input",
             str(tmp_path / "in.txt"), "--output", str(folder / "out.txt"), "--disable_tqdm", *GENERATE],
            stdout=subprocess.DEVNULL, stderr=stderr, env=subprocess_env(PAUSED=str(paused)), cwd=REPO_ROOT)
        deadline = time.monotonic() + 120
        while not paused.exists():
            assert process.poll() is None, (tmp_path / "stderr").read_text()[-3000:]
            assert time.monotonic() < deadline, "the write of --output never started"
            time.sleep(0.01)
        process.send_signal(signum)
        process.wait(timeout=60)
    stderr = (tmp_path / "stderr").read_text()
    assert process.returncode == status, stderr[-3000:]
    assert (folder / "out.txt").read_text(encoding="utf-8") == OLD_OUTPUT
    left = sorted(path.name for path in folder.iterdir())
    if signum == signal.SIGKILL:
        # nothing runs after SIGKILL: the hidden temporary file stays, holding the whole new output
        assert len(left) == 2 and left[0].startswith(".tmp-out.txt-") and left[1] == "out.txt"
        assert len((folder / left[0]).read_text(encoding="utf-8").splitlines()) == len(sources)
    else:
        assert left == ["out.txt"]  # the temporary file was removed
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_a_full_disk_leaves_the_old_file_and_says_so_in_one_line(model, tmp_path):
    limit = 256  # bytes; the output has 400 lines

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    (tmp_path / "in.txt").write_text("".join(f"{number:08d}\n" for number in range(400)), encoding="utf-8")
    folder = output_folder(tmp_path)
    result = run_translate(model, "--input", tmp_path / "in.txt", "--output", folder / "out.txt", "--disable_tqdm",
                           *GENERATE, preexec_fn=limit_file_size)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: Could not write --output {folder / 'out.txt'} (File too large); it was left as it "
                      "was. Check that its folder is writable and has free space."]
    assert "Traceback" not in stderr
    assert (folder / "out.txt").read_text(encoding="utf-8") == OLD_OUTPUT
    assert sorted(path.name for path in folder.iterdir()) == ["out.txt"]


# Flags


@pytest.mark.parametrize("flags, message", [
    (["--batch_size", "-2"], "argument --batch_size: must be an integer >= 1, not -2"),
    (["--batch_size", "2.5"], "argument --batch_size: must be an integer >= 1, not '2.5'"),
    (["--max_new_tokens", "0"], "argument --max_new_tokens: must be an integer >= 1"),
    (["--num_beams", "0"], "argument --num_beams: must be an integer >= 1"),
    (["--num_return_sequences", "0"], "argument --num_return_sequences: must be an integer >= 1"),
    (["--num_beams", "2", "--num_return_sequences", "3"],
     "argument --num_return_sequences: must be at most --num_beams (2) unless --do_sample is given"),
    (["--top_k", "-1"], "argument --top_k: must be an integer >= 0"),
    (["--top_p", "0"], "argument --top_p: must be a finite number > 0 and <= 1, not 0"),
    (["--top_p", "1.5"], "argument --top_p: must be a finite number > 0 and <= 1, not 1.5"),
    (["--temperature", "0"], "argument --temperature: must be a finite number > 0"),
    (["--temperature", "nan"], "argument --temperature: must be a finite number > 0, not nan"),
    (["--length_penalty", "inf"], "argument --length_penalty: must be a finite number, not inf"),
    (["--no_repeat_ngram_size", "-1"], "argument --no_repeat_ngram_size: must be an integer >= 0"),
    (["--repetition_penalty", "0"], "argument --repetition_penalty: must be a finite number > 0"),
    (["--max_source_length", "0"], "argument --max_source_length: must be an integer >= 1"),
    (["--seed", str(2**64)], "argument --seed: must be an integer >= 0 and <= 18446744073709551615"),
])
def test_out_of_range_flags_are_usage_errors_naming_the_flag(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        translate_script.parse_args(["--model_name_or_path", "unused", *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_edges_of_the_ranges_are_accepted():
    args = translate_script.parse_args(["--model_name_or_path", "unused", "--top_k", "0", "--top_p", "1", "--do_sample",
                                        "--num_return_sequences", "3", "--no_repeat_ngram_size", "0",
                                        "--batch_size", "1", "--max_source_length", "1", "--seed", "0"])
    assert (args.top_k, args.top_p, args.num_return_sequences, args.num_beams) == (0, 1.0, 3, 1)
