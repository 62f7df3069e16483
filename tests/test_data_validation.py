"""Bad and unusual data get one-line errors naming file, row and column (issue 14).

Values of any JSON or csv type are converted to text (numbers) or rejected (booleans, lists, objects); nulls are
missing values, skipped like blank lines; rows that lack the requested keys are rejected. Every file and folder read
is checked by one helper, so a missing, wrong-kind, unreadable, empty or non-UTF-8 input gets the same message
whichever way it is read, also through scripts/train.py.
"""

import logging
import os
import threading

import pytest
from datasets import Dataset, DatasetDict, Features, Value
from test_data import as_pairs, write_jsonl, write_lines

from hf_seq2seq_lstm.cli import run_cli
from hf_seq2seq_lstm.data import load_text_pairs, read_text_lines, text_pairs_from_dataset

from conftest import load_script

DE_EN = {"source_lang": "de", "target_lang": "en"}
PLAIN = {"text_column": "document", "summary_column": "summary"}

train_script = load_script("train")


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def load_error(**kwargs):
    """The message of the ValueError that load_text_pairs raises, checked to be one line."""
    with pytest.raises(ValueError) as error:
        load_text_pairs(**kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


# Values: converted to text


@pytest.mark.parametrize("name, text, kwargs, expected", [
    # JSON numbers keep their spelling ("2.50", "1e3"), not float's ("2.5", "1000.0").
    ("numbers.jsonl", '{"translation": {"de": 1999, "en": "A year."}}\n{"translation": {"de": 2.50, "en": 1e3}}\n',
     DE_EN, [("1999", "A year."), ("2.50", "1e3")]),
    ("numbers.json", '[{"document": 1999, "summary": "A year."},\n {"document": -7, "summary": 0}]', PLAIN,
     [("1999", "A year."), ("-7", "0")]),
    # pandas would read these columns as int64 and "NA" as a null; every cell is the text written in it.
    ("years.csv", "document,summary\n1999,Eclipse\n2000,NA\n007,Bond\n", PLAIN,
     [("1999", "Eclipse"), ("2000", "NA"), ("007", "Bond")]),
])
def test_numbers_become_their_text(tmp_path, name, text, kwargs, expected):
    pairs = load_text_pairs(train_file=write_text(tmp_path / name, text), **kwargs)

    assert as_pairs(pairs["train"]) == expected
    assert pairs["train"].features == Features({"source": Value("string"), "target": Value("string")})


@pytest.mark.parametrize("name, text, kwargs", [
    ("nulls.jsonl", '{"translation": {"de": "eins", "en": "one"}}\n{"translation": {"de": 1999, "en": null}}\n'
     '{"translation": null}\n', DE_EN),
    ("cells.csv", "document,summary\nText.,Sum.\n,Sum.\nText.,\n", PLAIN),
])
def test_nulls_and_empty_cells_are_missing_values_that_are_skipped(tmp_path, caplog, name, text, kwargs):
    with caplog.at_level(logging.WARNING, logger="hf_seq2seq_lstm.data"):
        pairs = load_text_pairs(train_file=write_text(tmp_path / name, text), **kwargs)

    assert len(pairs["train"]) == 1
    assert "skipped 2 of 3 pairs" in caplog.text


def test_numeric_values_of_a_dataset_folder_and_in_memory_become_text(tmp_path):
    # datasets types a column that is a number in some rows and a string in others as Json: still one text each.
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [{"translation": {"de": "eins", "en": "one"}},
                                         {"translation": {"de": 1999, "en": "a year"}}])
    assert as_pairs(load_text_pairs(dataset_name=str(folder), **DE_EN)["train"]) == [("eins", "one"),
                                                                                      ("1999", "a year")]

    in_memory = DatasetDict({"train": Dataset.from_dict({"document": [1999, 2000], "summary": ["x", "y"]})})
    assert as_pairs(text_pairs_from_dataset(in_memory, **PLAIN)["train"]) == [("1999", "x"), ("2000", "y")]


# Values and rows: rejected, naming file, row and column


@pytest.mark.parametrize("name, lines, kwargs, expected", [
    ("list.jsonl", ['{"translation": {"de": "eins", "en": "one"}}', '{"translation": {"de": ["a"], "en": "b"}}'],
     DE_EN, ["list.jsonl', line 2, column 'translation.de': a list ([\"a\"]) is not text"]),
    ("bool.jsonl", ['{"translation": {"de": "eins", "en": true}}'], DE_EN,
     ["bool.jsonl', line 1, column 'translation.en': a boolean (true) is not text",
      'Write it as a string ("true") if it is meant as text']),
    ("object.json", ['[{"document": "Text.", "summary": "Sum."},', '{"document": {"a": 1}, "summary": "Sum."}]'],
     PLAIN, ["object.json', array index 1, column 'document': an object"]),
    ("row.jsonl", ['{"translation": {"de": "eins", "en": "one"}}', '["eins", "one"]'], DE_EN,
     ["row.jsonl', line 2: a list is not a row", "give each row as an object"]),
    ("string.jsonl", ['{"translation": "eins = one"}'], DE_EN,
     ["string.jsonl', line 1, column 'translation': a string is not a translation"]),
    ("syntax.jsonl", ['{"translation": {"de": "eins", "en": "one"}}', "", '{"translation": {"de": "zwei", "en": }}'],
     DE_EN, ["syntax.jsonl', line 3: not valid JSON (Expecting value, column 38)", "JSON Lines"]),
    ("cells.csv", ["document,summary", "Text.,Sum.", "Text, with a comma.,Sum."], PLAIN,
     ["cells.csv', line 3: 3 cells, but the header has 2", "Quote cells that contain a comma"]),
    ("quote.csv", ["document,summary", "Text.,Sum.", '"An open quote,Sum.'], PLAIN,
     ["quote.csv', line 3: not valid csv (unexpected end of data)"]),
])
def test_values_and_rows_that_are_not_text_are_rejected(tmp_path, name, lines, kwargs, expected):
    path = write_lines(tmp_path / name, lines)

    message = load_error(train_file=path, **kwargs)

    assert str(path) in message
    for text in expected:
        assert text in message


@pytest.mark.parametrize("records, kwargs, expected", [
    # de-en rows, then a fr-en row: the fr-en row is named with the keys it has, and the first row with them.
    ([{"translation": {"de": "eins", "en": "one"}}, {"translation": {"de": "zwei", "en": "two"}},
      {"translation": {"fr": "trois", "en": "three"}}], DE_EN,
     ["line 3: The `translation` column has no language(s) ['de']; it has ['fr', 'en']", "line 1 has them"]),
    ([{"translation": {"de": "eins", "en": "one"}}, {"id": 2, "text": "zwei"}], DE_EN,
     ["line 2: No `translation` column; this row has columns ['id', 'text']", "line 1 has them"]),
    ([{"document": "Text.", "summary": "Sum."}, {"document": "Text."}], PLAIN,
     ["line 2: Columns ['summary'] not found; this row has columns ['document']", "line 1 has them"]),
])
def test_rows_with_other_keys_are_rejected(tmp_path, records, kwargs, expected):
    path = write_jsonl(tmp_path / "train.jsonl", records)

    message = load_error(train_file=path, **kwargs)

    assert f"'{path}', line" in message and "every row needs the same keys" in message
    for text in expected:
        assert text in message


@pytest.mark.parametrize("records, expected", [
    ([{"translation": {"de": "eins", "en": "one"}}, {"translation": {"de": ["zwei"], "en": "two"}}],
     "Split 'train', row 1, column 'translation.de': a list"),
    ([{"translation": {"de": "eins", "en": "one"}}, {"translation": {"fr": "deux", "en": "two"}}],
     "Split 'train', row 1: The `translation` column has no language(s) ['de']; it has ['fr', 'en']"),
])
def test_a_dataset_folder_names_split_row_and_column(tmp_path, records, expected):
    write_jsonl(tmp_path / "train.jsonl", records)

    assert expected in load_error(dataset_name=str(tmp_path), **DE_EN)


def test_an_error_of_datasets_becomes_one_line_naming_the_folder(tmp_path):
    write_lines(tmp_path / "train.csv", ["document,summary", "Text.,Sum.", "Text, with a comma.,Sum."])

    message = load_error(dataset_name=str(tmp_path), **PLAIN)

    assert f"'{tmp_path}': `datasets` could not read its data (ParserError:" in message
    assert "Expected 2 fields in line 3, saw 3" in message


def test_a_split_without_any_pair_is_an_error(tmp_path):
    write_lines(tmp_path / "train.de", ["", "  "])
    write_lines(tmp_path / "train.en", ["one", ""])

    message = load_error(train_file=tmp_path / "train", **DE_EN)

    assert "Split 'train' has no pair with both a source and a target (of 2 rows" in message


# Files and folders: one check for every way of reading


def _jsonl(path):
    return load_text_pairs(train_file=path, **DE_EN)


def _csv(path):
    return load_text_pairs(train_file=path, **PLAIN)


def _parallel(path):
    write_lines(path.with_suffix(".en"), ["one", "two"])
    return load_text_pairs(train_file=path.with_suffix(""), **DE_EN)


READERS = {"train.jsonl": _jsonl, "train.csv": _csv, "train.de": _parallel, "input.txt": read_text_lines}


def _deny_read(monkeypatch, path):
    # Tests may run as root, which reads anything: deny the one path through the permission check itself.
    allowed = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: os.fspath(p) != str(path) and allowed(p, mode))


PROBLEMS = {
    "empty": (lambda path, monkeypatch: path.write_bytes(b""), "is empty. Give a file with data"),
    "folder": (lambda path, monkeypatch: path.mkdir(), "is a folder, not a file"),
    "latin-1": (lambda path, monkeypatch: path.write_bytes("one\nzwölf\n".encode("latin-1")),
                ", line 2: bytes that are not valid UTF-8"),
    "unreadable": (lambda path, monkeypatch: (path.write_text("one\n"), _deny_read(monkeypatch, path)),
                   "cannot be read: permission denied"),
    "missing": (lambda path, monkeypatch: None, "does not exist"),
}


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", READERS)
def test_every_file_is_checked_the_same_way(tmp_path, monkeypatch, name, problem):
    if name == "train.de" and problem == "missing":
        pytest.skip("a parallel prefix names its missing files itself (tests/test_data.py)")
    path = tmp_path / name
    make_problem, expected = PROBLEMS[problem]
    make_problem(path, monkeypatch)

    with pytest.raises(ValueError) as error:
        READERS[name](path)

    message = str(error.value)
    assert message.startswith(f"'{path}'") and expected in message and "\n" not in message


def test_a_device_is_not_read_but_a_named_pipe_is(tmp_path):
    with pytest.raises(ValueError) as error:
        read_text_lines(os.devnull)
    assert f"'{os.devnull}' is not a regular file" in str(error.value)

    # e.g. translate.py --input <(zcat test.de.gz)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text("eins\nzwei\n", encoding="utf-8"))
    writer.start()
    assert read_text_lines(pipe) == ["eins", "zwei"]
    writer.join()


@pytest.mark.parametrize("problem, expected", [
    ("missing", "does not exist"),
    ("file", "is a file, not a dataset folder"),
    ("empty", "is an empty folder"),
    ("unreadable", "cannot be read: permission denied"),
])
def test_dataset_folders_are_checked(tmp_path, monkeypatch, problem, expected):
    path = tmp_path / "dataset"
    if problem == "file":
        write_jsonl(path, [{"translation": {"de": "eins", "en": "one"}}])
    elif problem in ("empty", "unreadable"):
        path.mkdir()
    if problem == "unreadable":
        write_jsonl(path / "train.jsonl", [{"translation": {"de": "eins", "en": "one"}}])
        _deny_read(monkeypatch, path)

    message = load_error(dataset_name=str(path), **DE_EN)

    assert message.startswith(f"'{path}' {expected}")


# Through scripts/train.py


def train(argv, capsys):
    """Runs train.py's main through run_cli, as scripts/train.py does: (exit status, stderr)."""
    capsys.readouterr()
    status = run_cli(train_script.main, [str(arg) for arg in argv])
    return status, capsys.readouterr().err


@pytest.mark.parametrize("files, args, expected", [
    ({"train.de": "", "train.en": "one\n"}, ["--train_file", "train", "--source_lang", "de", "--target_lang", "en"],
     "train.de' is empty"),
    ({"train.jsonl": '{"translation": {"de": "eins", "en": "one"}}\n{"translation": {"de": ["zwei"], "en": "two"}}\n'},
     ["--train_file", "train.jsonl", "--source_lang", "de", "--target_lang", "en"],
     "train.jsonl', line 2, column 'translation.de': a list ([\"zwei\"]) is not text"),
    ({"train.jsonl": '{"translation": {"de": "eins", "en": "one"}}\n{"translation": {"fr": "deux", "en": "two"}}\n'},
     ["--train_file", "train.jsonl", "--source_lang", "de", "--target_lang", "en"],
     "train.jsonl', line 2: The `translation` column has no language(s) ['de']; it has ['fr', 'en']"),
])
def test_train_py_exits_1_with_a_one_line_error(tmp_path, capsys, files, args, expected):
    for name, text in files.items():
        write_text(tmp_path / name, text)
    args = [tmp_path / arg if arg in files or arg == "train" else arg for arg in args]

    status, stderr = train(["--output_dir", tmp_path / "out", "--do_train", *args], capsys)

    assert status == 1 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0]


def test_train_py_trains_on_numeric_sources(fixed, tmp_path, capsys):
    _, tokenizer = fixed
    # The digit task of the `fixed` fixture, with its sources and targets written as JSON numbers.
    lines = [f'{{"translation": {{"src": {digits}, "tgt": {digits[::-1][:6]}}}}}'
             for digits in ("12345678", "87654321", "11223344", "99887766")]
    data = write_lines(tmp_path / "numbers.jsonl", lines)

    status, stderr = train(["--output_dir", tmp_path / "out", "--train_file", data, "--source_lang", "src",
                            "--target_lang", "tgt", "--tokenizer_name", tokenizer, "--do_train", "--max_steps", "1",
                            "--save_strategy", "no", "--hidden_size", "8", "--embedding_size", "8", "--report_to",
                            "none", "--use_cpu", "true"], capsys)

    assert status == 0, stderr
    assert (tmp_path / "out" / "model.safetensors").is_file()
