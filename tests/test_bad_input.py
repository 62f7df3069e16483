"""Bad input gets an error saying what is wrong and what to do: bad data through scripts/train.py (one line, exit
status 1, no traceback; blank and truncated pairs counted in the log), and token ids outside the vocabulary or empty
and all-padding batches given to the model."""

import json
import logging

import pytest
import torch

from conftest import VOCAB, load_script, make_model
from reliability_helpers import cli, run_train

train_script = load_script("train")


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
