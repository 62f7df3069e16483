# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Loading text-to-text data (translation or summarization pairs) and tokenizing it for the seq2seq model.

[`load_text_pairs`] turns any of the supported inputs into a [`~datasets.DatasetDict`] whose splits have exactly
two string columns, `source` and `target` ([`text_pairs_from_dataset`] does the same for a `DatasetDict` already in
memory); [`tokenize_pairs`] turns those into `input_ids`, `attention_mask` and `labels`. Keeping one intermediate
format means tokenizer training, model training and evaluation do not care where the text came from.
[`read_text_lines`] reads one plain UTF-8 text file, e.g. sources to translate; [`check_input_path`] checks every
file and folder before it is read. [`bucketed_batches`] groups pairs of similar lengths into training batches of a
sentence or token budget.

Values, the same for every input: text is kept; a number becomes its text (in json files as written there, e.g.
"2.50"; csv cells are always read as the text written in them); a null, or an empty csv cell, is a missing value; a
boolean, a list or an object is an error naming its file, row and column, since it is not text and any spelling of it
would be a guess. In json/jsonl files every row must have the keys asked for (the `translation` column and both
languages, or both columns): a row without them is an error naming it and the keys it has, since a file that mixes
language pairs or layouts would otherwise lose those rows without a word.

Cleaning, the same for every input: leading and trailing whitespace is stripped, and pairs whose source or target is
missing, empty or whitespace-only are skipped (dropped); the number skipped per split is logged as a warning. In
parallel files such lines are usually blank separator or trailing lines. A split left without any pair is an error.
"""

import csv
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import torch
from datasets import Dataset, DatasetDict, Features, Translation, Value, load_dataset
from datasets.exceptions import DatasetGenerationError
from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

__all__ = [
    "SPLITS",
    "bucketed_batches",
    "check_input_path",
    "encode_truncated",
    "in_random_order",
    "load_text_pairs",
    "read_lines",
    "read_text_lines",
    "text_pairs_from_dataset",
    "text_task",
    "tokenize_pairs",
]

SPLITS = ("train", "validation", "test")

# JSON numbers are kept as the text written in the file ("1999", "2.50"): a number is ordinary source or target text
# (a year, a count, the digits of a toy task), and parsing it to int/float first would change its spelling.
NUMBERS_AS_WRITTEN = {"parse_int": str, "parse_float": str, "parse_constant": str}


def text_task(task: str | None, text_column: str | None) -> str:
    """The task of a run's data arguments, "translation" or "summarization": the one named, else summarization
    exactly when plain source/target columns are given (`text_column`), as in transformers' examples."""
    return task or ("summarization" if text_column else "translation")


def load_text_pairs(
    *,
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    train_file: str | os.PathLike | None = None,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    source_lang: str | None = None,
    target_lang: str | None = None,
    text_column: str | None = None,
    summary_column: str | None = None,
    max_samples: dict[str, int] | None = None,
) -> DatasetDict:
    """
    Loads source/target text pairs from a dataset or from files.

    Give either `dataset_name` (a Hub dataset or a local dataset folder, read with
    `datasets.load_dataset(dataset_name, dataset_config_name)`; its train/validation/test splits are kept) or one or
    more of `train_file`, `validation_file`, `test_file`. A file ending in `.json` (JSON Lines, or one JSON array of
    objects), `.jsonl` (JSON Lines) or `.csv` (with a header row) is read row by row, so that a bad value is named by
    its line. Any other file argument is a parallel-text PREFIX: `PREFIX.<source_lang>` and `PREFIX.<target_lang>`
    must exist, be UTF-8, have one sentence per line and the same number of lines (e.g. `multi30k/train` for
    `multi30k/train.de` and `multi30k/train.en`).

    The pairs are taken from plain columns `text_column` -> `summary_column` when both are given, otherwise from a
    `translation` column of `{language: text}` dicts, `source_lang` -> `target_lang`. Values and cleaning follow the
    module docstring's rules, the same for every input.

    Args:
        dataset_name (`str`, *optional*): name or local path given to `datasets.load_dataset`.
        dataset_config_name (`str`, *optional*): its configuration, e.g. "de-en".
        train_file / validation_file / test_file (`str` or `os.PathLike`, *optional*): json/jsonl/csv file or
            parallel-text prefix of each split.
        source_lang / target_lang (`str`, *optional*): language keys of the `translation` column, or the suffixes of
            parallel text files.
        text_column / summary_column (`str`, *optional*): source and target columns of a dataset without a
            `translation` column.
        max_samples (`dict[str, int]`, *optional*): keep at most this many pairs of a split, e.g.
            `{"train": 2000}`; the first ones, taken before cleaning.

    Returns:
        [`~datasets.DatasetDict`]: the splits given (or, for `dataset_name`, those of train/validation/test that the
        dataset has), each with string columns `source` and `target`.

    Raises:
        `ValueError`: for inconsistent arguments; a file or folder that is missing, of the wrong kind, unreadable or
        empty (see [`check_input_path`]); parallel files of different lengths; bytes that are not UTF-8; json or csv
        that does not parse; values that are not text; rows without the requested languages or columns; or a split
        without any pair. The message, one line, names the file (and line or row, and column) and what to do.
    """
    files = {"train": train_file, "validation": validation_file, "test": test_file}
    files = {split: path for split, path in files.items() if path is not None}
    if (dataset_name is None) == (not files):
        raise ValueError(
            "Give either dataset_name or at least one of train_file/validation_file/test_file (and not both)."
        )
    # Checked before reading anything, so that a wrong argument does not wait for a large download.
    _check_pair_arguments(source_lang, target_lang, text_column, summary_column, max_samples)

    if dataset_name is not None:
        raw_splits = _load_dataset(dataset_name, dataset_config_name)
    else:
        raw_splits = DatasetDict({split: _read_split_file(path, source_lang, target_lang, text_column, summary_column)
                                  for split, path in files.items()})
    return text_pairs_from_dataset(raw_splits, source_lang=source_lang, target_lang=target_lang,
                                   text_column=text_column, summary_column=summary_column, max_samples=max_samples)


def _read_split_file(path, source_lang, target_lang, text_column, summary_column) -> Dataset:
    """One split's file: json/jsonl/csv records (by extension), else a parallel-text prefix."""
    read_records = RECORD_READERS.get(os.path.splitext(path)[1].lower())
    if read_records is None:
        return _read_parallel_text(path, source_lang, target_lang)
    return _pairs_from_records(read_records(path), source_lang, target_lang, text_column, summary_column)


def text_pairs_from_dataset(
    dataset_dict: DatasetDict,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
    text_column: str | None = None,
    summary_column: str | None = None,
    max_samples: dict[str, int] | None = None,
) -> DatasetDict:
    """
    Turns the train/validation/test splits of a `DatasetDict` (other splits are ignored, with a warning) into
    `source`/`target` pairs, selecting, converting and cleaning them as [`load_text_pairs`] does; see there for the
    arguments.

    Raises:
        `ValueError`: for inconsistent arguments, none of the three splits, a dataset without the requested
        languages or columns, a value that is not text (naming split, row and column), or a split without any pair.
    """
    _check_pair_arguments(source_lang, target_lang, text_column, summary_column, max_samples)
    splits = [split for split in SPLITS if split in dataset_dict]
    if not splits:
        raise ValueError(f"The dataset has none of the splits {list(SPLITS)}; it has {list(dataset_dict)}.")
    ignored_splits = [split for split in dataset_dict if split not in SPLITS]
    if ignored_splits:
        logger.warning("Ignoring dataset splits %s; only %s are used.", ignored_splits, SPLITS)

    max_samples = max_samples or {}
    pairs = DatasetDict()
    for split in splits:
        dataset = dataset_dict[split]
        if split in max_samples:
            dataset = dataset.select(range(min(max_samples[split], len(dataset))))
        dataset = _select_pairs(dataset, split, source_lang, target_lang, text_column, summary_column)
        pairs[split] = _clean_pairs(dataset, split)
    return pairs


def _check_pair_arguments(
    source_lang: str | None,
    target_lang: str | None,
    text_column: str | None,
    summary_column: str | None,
    max_samples: dict[str, int] | None,
) -> None:
    """Raises a `ValueError` unless the arguments say unambiguously where the pairs are and which splits to cap."""
    if (text_column is None) != (summary_column is None):
        raise ValueError(
            f"Give both text_column and summary_column or neither (got text_column={text_column!r}, "
            f"summary_column={summary_column!r})."
        )
    if text_column is None and (source_lang is None or target_lang is None):
        raise ValueError(
            "Give source_lang and target_lang (a `translation` column or parallel text files), or text_column and "
            "summary_column (plain columns)."
        )
    unknown_splits = set(max_samples or {}) - set(SPLITS)
    if unknown_splits:
        raise ValueError(f"max_samples has unknown splits {sorted(unknown_splits)}; use keys among {list(SPLITS)}.")


def check_input_path(path: str | os.PathLike, *, folder: bool = False) -> str:
    """
    Checks a file (or, with `folder=True`, a folder) before it is read, and returns it as a `str`. Every file and
    folder that this module reads comes through here, so that each problem gets the same one-line message naming
    the path: it does not exist, is a folder where a file is expected (or the other way round) or not a regular file,
    cannot be read (permissions), or is empty. Bytes that are not UTF-8 are found while reading, by
    [`read_text_lines`], which names the line.

    A named pipe passes as a file, so that process substitution (`--input <(zcat test.de.gz)`) works; whether it is
    empty cannot be known before it is read.

    Raises:
        `ValueError`: naming the path and what to do.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ValueError(
            f"{path!r} does not exist (a relative path starts at {os.getcwd()!r}). Check the path."
        ) from None
    if folder and not stat.S_ISDIR(mode):
        raise ValueError(
            f"{path!r} is a file, not a dataset folder. Give a data file as train_file/validation_file/test_file "
            "(--train_file ... in the scripts), or the folder that holds the dataset's files."
        )
    if not folder and stat.S_ISDIR(mode):
        raise ValueError(f"{path!r} is a folder, not a file. Give a file (for parallel text, its prefix).")
    if not folder and not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise ValueError(f"{path!r} is not a regular file (a device or a socket). Give a text file.")
    # A folder needs the x bit as well to open the files in it.
    if not os.access(path, (os.R_OK | os.X_OK) if folder else os.R_OK):
        raise ValueError(
            f"{path!r} cannot be read: permission denied. Give yourself read access, e.g. "
            f"`chmod u+r{'x' if folder else ''} {path}`."
        )
    if folder and not os.listdir(path):
        raise ValueError(f"{path!r} is an empty folder. Put the dataset's files in it, or give another folder.")
    if stat.S_ISREG(mode) and os.path.getsize(path) == 0:
        raise ValueError(f"{path!r} is empty. Give a file with data, or check that the program writing it finished.")
    return path


def _load_dataset(dataset_name: str, dataset_config_name: str | None) -> DatasetDict:
    """`datasets.load_dataset(dataset_name, dataset_config_name)`, after checking a local folder, with the errors of
    `datasets` about the folder's data turned into one line naming it."""
    # A name that exists here, or is written as a path, is a local folder; any other name is a Hub dataset.
    if os.path.exists(dataset_name) or os.path.isabs(dataset_name) or dataset_name.startswith((".", "~")):
        check_input_path(dataset_name, folder=True)
    try:
        return load_dataset(dataset_name, dataset_config_name)
    except DatasetGenerationError as error:
        # The actual problem (a csv line with too many cells, json that does not parse, ...) is the cause.
        cause = error.__cause__ or error
        detail = " ".join(str(cause).split())
        raise ValueError(
            f"{dataset_name!r}: `datasets` could not read its data ({type(cause).__name__}: {detail}). Fix the file "
            "it names, or pass the files as train_file/validation_file/test_file, whose errors name the line."
        ) from error


def _read_parallel_text(prefix: str | os.PathLike, source_lang: str | None, target_lang: str | None) -> Dataset:
    """Reads `prefix.<source_lang>` and `prefix.<target_lang>` into a `Dataset` with a `translation` column."""
    if source_lang is None or target_lang is None:
        raise ValueError(
            f"{os.fspath(prefix)!r} is read as a parallel-text prefix (it is not .json/.jsonl/.csv), which needs "
            "source_lang and target_lang."
        )
    source_path = f"{os.fspath(prefix)}.{source_lang}"
    target_path = f"{os.fspath(prefix)}.{target_lang}"
    # Both files at once, since the prefix is the argument the user gave; read_text_lines checks each file further.
    missing = [path for path in (source_path, target_path) if not os.path.exists(path)]
    if missing:
        hint = ""
        if os.path.isfile(prefix):
            hint = (
                f" {os.fspath(prefix)!r} itself exists: give a .json/.jsonl/.csv file, or the prefix without the "
                "language suffix for parallel text."
            )
        raise ValueError(
            f"Parallel text files not found: tried {source_path!r} and {target_path!r}; missing: {missing}. A "
            f"file argument that is not .json/.jsonl/.csv must be a prefix such that PREFIX.{source_lang} and "
            f"PREFIX.{target_lang} exist.{hint}"
        )
    source_lines = read_text_lines(source_path)
    target_lines = read_text_lines(target_path)
    if len(source_lines) != len(target_lines):
        raise ValueError(
            f"Parallel files differ in length: {source_path!r} has {len(source_lines)} lines but {target_path!r} has "
            f"{len(target_lines)}. Line i of one must translate line i of the other; realign them."
        )
    # The same layout as translation datasets, so that one code path selects and cleans every input.
    translations = [{source_lang: source, target_lang: target} for source, target in zip(source_lines, target_lines)]
    return Dataset.from_dict({"translation": translations})


def read_text_lines(path: str | os.PathLike) -> list[str]:
    """
    Reads a UTF-8 text file into its lines, without line breaks (`\\n` or `\\r\\n`) and without a leading byte-order
    mark; nothing else is stripped or skipped. Every text file of this module is read here, after
    [`check_input_path`].

    Raises:
        `ValueError`: for a path that [`check_input_path`] rejects (missing, a folder, unreadable, empty), or naming
        the file and line number of bytes that are not UTF-8.
    """
    path = check_input_path(path)
    with open(path, "rb") as file:
        return read_lines(file, repr(path))


def read_lines(file: BinaryIO, name: str) -> list[str]:
    """
    The lines of a file open in binary mode (a file, or `sys.stdin.buffer`), decoded as [`read_text_lines`] says.
    `name` names it in errors (e.g. "'train.de'" or "stdin").
    """
    lines = []
    # Binary mode splits on "\n" only, like the files' producers, whereas text-mode helpers such as str.splitlines
    # also split on Unicode separators that may occur inside a sentence.
    for line_number, raw_line in enumerate(file, start=1):
        try:
            # A UTF-8 byte-order mark (from some Windows editors) is not part of the first sentence.
            line = raw_line.decode("utf-8-sig" if line_number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{name}, line {line_number}: bytes that are not valid UTF-8 ({error}). Convert it to UTF-8, e.g. "
                "with `iconv -f latin1 -t utf-8`."
            ) from error
        lines.append(line.rstrip("\r\n"))
    return lines


def _json_records(path: str | os.PathLike) -> Iterator[tuple[str, object]]:
    """
    `(where, record)` for each row of a json file: one JSON value per line (JSON Lines; blank lines are skipped), or
    one JSON array, when the file starts with `[`. `where` names the row in errors: "'f.jsonl', line 3", or
    "'f.json', array index 3" for an array.
    """
    path = os.fspath(path)
    lines = read_text_lines(path)
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("["):
        for index, record in enumerate(_parse_json(path, "\n".join(lines), first_line=1)):
            yield f"{path!r}, array index {index}", record
    else:
        for line_number, line in enumerate(lines, start=1):
            if line.strip():
                yield f"{path!r}, line {line_number}", _parse_json(path, line, first_line=line_number)


def _parse_json(path: str, text: str, first_line: int) -> object:
    """`json.loads(text)`, numbers as written; an error names the line of the file (`text` starts at `first_line`)."""
    try:
        return json.loads(text, **NUMBERS_AS_WRITTEN)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path!r}, line {first_line + error.lineno - 1}: not valid JSON ({error.msg}, column {error.colno}). "
            "Give one JSON object per line (JSON Lines), or one JSON array of objects."
        ) from None


def _csv_records(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, str]]]:
    """
    `(where, record)` for each row of a csv file with a header row; `where` is "'f.csv', line 3" (the line where the
    row starts). Lines that are blank, or of blank cells only, are skipped.
    """
    path = os.fspath(path)
    # Every cell is read as the text written in it, with no type inference (pandas would make a column of years
    # int64 and "NA" a null): a column of years or all-numeric sources is ordinary text data, and "007", "2.50" or
    # "NA" keep their spelling. An empty cell is a missing value, like an empty line of parallel text.
    # strict: a quote left open would otherwise take the rest of the file into one cell.
    reader = csv.reader((line + "\n" for line in read_text_lines(path)), strict=True)
    header = None
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not "".join(cells).strip():
                continue
            if header is None:
                header = cells
            elif len(cells) != len(header):
                raise ValueError(
                    f"{path!r}, line {start}: {len(cells)} cells, but the header has {len(header)} ({header}). "
                    'Quote cells that contain a comma or a line break ("a, b"); give every row the header\'s columns.'
                )
            else:
                yield f"{path!r}, line {start}", dict(zip(header, cells))
    except csv.Error as error:
        raise ValueError(f"{path!r}, line {end + 1}: not valid csv ({error}). Fix the quoting of that row.") from None


# File extensions read as rows of named values; any other path is a parallel-text prefix.
RECORD_READERS: dict[str, Callable[[str | os.PathLike], Iterator[tuple[str, object]]]] = {
    ".json": _json_records,
    ".jsonl": _json_records,
    ".csv": _csv_records,
}


def _pairs_from_records(
    records: Iterable[tuple[str, object]],
    source_lang: str | None,
    target_lang: str | None,
    text_column: str | None,
    summary_column: str | None,
) -> Dataset:
    """
    The pairs of `records` (`(where, record)` for each row, `where` naming it in errors) in the layout of a dataset:
    a `translation` column of `{source_lang: text, target_lang: text}`, or the columns `text_column` and
    `summary_column`, every value text or None (missing), converted as [`load_text_pairs`] says.

    The first row's keys are the ones the data has: when it lacks those asked for, the error lists what it has, as
    for a dataset. A later row without them is an error naming it, its keys and the first row.
    """
    plain = text_column is not None
    wanted = (text_column, summary_column) if plain else (source_lang, target_lang)
    columns = wanted if plain else tuple(f"translation.{language}" for language in wanted)
    sources, targets = [], []
    first_where = None
    for where, record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{where}: {json_kind(record)} is not a row; give each row as an object "
                             f"{{column: value}}.")
        if plain:
            holder = record
        else:
            _check_keys(where, record, ["translation"], "translation", first_where)
            holder = record["translation"]
            if holder is not None and not isinstance(holder, dict):
                raise ValueError(
                    f"{where}, column 'translation': {json_kind(holder)} is not a translation; give an object "
                    '{"language": "text", ...}.'
                )
        if holder is None:  # `"translation": null` is a missing pair, like a null text
            source, target = None, None
        else:
            _check_keys(where, holder, wanted, "columns" if plain else "languages", first_where)
            source, target = (_as_text(holder[key], f"{where}, column {name!r}") for key, name in zip(wanted, columns))
        sources.append(source)
        targets.append(target)
        first_where = first_where or where

    if plain:
        features = Features({text_column: Value("string"), summary_column: Value("string")})
        return Dataset.from_dict({text_column: sources, summary_column: targets}, features=features)
    features = Features({"translation": {language: Value("string") for language in wanted}})
    translations = [{source_lang: source, target_lang: target} for source, target in zip(sources, targets)]
    return Dataset.from_dict({"translation": translations}, features=features)


def _check_keys(where: str, found: Iterable[str], wanted: Iterable[str], kind: str, first_where: str | None = None):
    """
    Raises a `ValueError` if keys of `wanted` are not in `found`: the columns of plain text (`kind` "columns"), the
    `translation` column ("translation") or the languages of that column ("languages"). `first_where` names the
    first row when `where` is a later one (which then lacks keys that the first row has).
    """
    found = list(found)
    missing = [key for key in dict.fromkeys(wanted) if key not in found]
    if not missing:
        return
    holder = "the dataset has" if first_where is None else "this row has"
    if kind == "columns":
        problem = f"Columns {missing} not found; {holder} columns {found}"
        fix = "Set text_column and summary_column to two of them."
    elif kind == "translation":
        problem = f"No `translation` column; {holder} columns {found}"
        fix = "Give text_column and summary_column to read plain columns."
    else:
        problem = f"The `translation` column has no language(s) {missing}; it has {found}"
        fix = "Set source_lang and target_lang to two of them."
    if first_where is not None:
        fix = f"{first_where} has them: every row needs the same keys; split data mixing language pairs or layouts."
    raise ValueError(f"{where}: {problem}. {fix}")


def json_kind(value: object) -> str:
    """What a JSON-like value is, for error messages: "a list", "an object", "a number", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a value of type {type(value).__name__}"


def _as_text(value: object, where: str) -> str | None:
    """
    `value` as text: a string as it is, None (missing) as None, an int or float as its text, since numbers are
    ordinary data (years, counts, digits); anything else raises a `ValueError` naming `where`. Booleans are rejected
    rather than spelled "True" or "true": text data holds no booleans, so one means a wrong column or a broken export.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    shown = json.dumps(value, ensure_ascii=False, default=repr)  # as a JSON file would spell it: true, ["a"]
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    if isinstance(value, bool):
        fix = f'Write it as a string ("{shown}") if it is meant as text, or choose the text column or language.'
    else:
        fix = "Give each source and target as one string (or number)."
    raise ValueError(f"{where}: {json_kind(value)} ({shown}) is not text. {fix}")


def _select_pairs(
    dataset: Dataset,
    split: str,
    source_lang: str | None,
    target_lang: str | None,
    text_column: str | None,
    summary_column: str | None,
) -> Dataset:
    """Maps a dataset's `translation` column or its text/summary columns to `source`/`target` text."""
    where = f"Split {split!r}"
    if text_column is not None:
        _check_keys(where, dataset.column_names, (text_column, summary_column), "columns")
        columns = (text_column, summary_column)
    else:
        _check_keys(where, dataset.column_names, ["translation"], "translation")
        feature = dataset.features["translation"]
        if not isinstance(feature, (Translation, dict)):
            # `datasets` types the column as Json when its rows have different keys (e.g. de-en and fr-en) or are not
            # all objects: check it row by row, which names the first row that differs.
            rows = ((f"{where}, row {index}", row) for index, row in enumerate(dataset))
            dataset = _pairs_from_records(rows, source_lang, target_lang, None, None)
            feature = dataset.features["translation"]
        # `Translation` features (Hub datasets) list their languages; others give a dict of one feature per language.
        languages = feature.languages if isinstance(feature, Translation) else list(feature)
        _check_keys(where, languages, (source_lang, target_lang), "languages")
        columns = (f"translation.{source_lang}", f"translation.{target_lang}")

    def to_text(batch, indices):
        if text_column is not None:
            values = (batch[text_column], batch[summary_column])
        else:
            pairs = [pair or {} for pair in batch["translation"]]  # a null pair is missing, like a null text
            values = ([pair.get(source_lang) for pair in pairs], [pair.get(target_lang) for pair in pairs])
        source, target = (
            [_as_text(value, f"{where}, row {index}, column {column!r}") for value, index in zip(side, indices)]
            for side, column in zip(values, columns)
        )
        return {"source": source, "target": target}

    return dataset.map(
        to_text,
        batched=True,
        with_indices=True,
        remove_columns=dataset.column_names,
        features=Features({"source": Value("string"), "target": Value("string")}),
    )


def _clean_pairs(dataset: Dataset, split: str) -> Dataset:
    """
    Strips whitespace and drops pairs with a missing or blank side, logging how many were dropped; raises a
    `ValueError` when none is left, since an empty split would only fail later, less clearly.
    """

    def strip(batch):
        return {
            "source": [text.strip() if text is not None else "" for text in batch["source"]],
            "target": [text.strip() if text is not None else "" for text in batch["target"]],
        }

    stripped = dataset.map(strip, batched=True)
    kept = stripped.filter(
        lambda batch: [bool(source and target) for source, target in zip(batch["source"], batch["target"])],
        batched=True,
    )
    if not len(kept):
        raise ValueError(
            f"Split {split!r} has no pair with both a source and a target (of {len(stripped)} rows, all were empty or "
            "missing). Check its data: the columns or languages chosen, and the file's content."
        )
    if len(kept) < len(stripped):
        logger.warning(
            "Split %r: skipped %d of %d pairs whose source or target is empty or whitespace-only.",
            split,
            len(stripped) - len(kept),
            len(stripped),
        )
    return kept


def tokenize_pairs(
    dataset_dict: DatasetDict,
    tokenizer: PreTrainedTokenizerBase,
    max_source_length: int,
    max_target_length: int,
) -> DatasetDict:
    """
    Tokenizes the `source`/`target` pairs of every split into `input_ids`, `attention_mask` and `labels`.

    Sequences are truncated to `max_source_length` / `max_target_length` tokens (special tokens included) and not
    padded: [`~transformers.DataCollatorForSeq2Seq`] pads each batch. The number of truncated sources and targets of
    each split is logged, since silently cut targets teach the model to stop early.

    Args:
        dataset_dict ([`~datasets.DatasetDict`]): output of [`load_text_pairs`].
        tokenizer ([`~transformers.PreTrainedTokenizerBase`]): encodes the sources, and the targets through
            `text_target=` (with the target vocabulary where the model has two).
        max_source_length (`int`), max_target_length (`int`): maximum lengths in tokens.

    Returns:
        [`~datasets.DatasetDict`]: the same splits with columns `input_ids`, `attention_mask` and `labels` only.
    """
    def encode_targets(texts, **kwargs):
        return tokenizer(text_target=texts, **kwargs)

    def tokenize(batch):
        sources, sources_truncated = encode_truncated(tokenizer, batch["source"], max_source_length)
        targets, targets_truncated = encode_truncated(encode_targets, batch["target"], max_target_length)
        return {
            "input_ids": sources["input_ids"],
            "attention_mask": sources["attention_mask"],
            "labels": targets["input_ids"],
            # Per-row flags rather than a counter in this closure: they survive the datasets cache and num_proc.
            "source_truncated": sources_truncated,
            "target_truncated": targets_truncated,
        }

    tokenized = DatasetDict()
    for split, dataset in dataset_dict.items():
        encoded = dataset.map(tokenize, batched=True, remove_columns=dataset.column_names)
        num_sources, num_targets = sum(encoded["source_truncated"]), sum(encoded["target_truncated"])
        # A warning when anything was cut, so that a default (warning-level) training log shows it.
        logger.log(
            logging.WARNING if num_sources or num_targets else logging.INFO,
            "Split %r: truncated %d of %d sources to %d tokens and %d targets to %d tokens%s.",
            split,
            num_sources,
            len(encoded),
            max_source_length,
            num_targets,
            max_target_length,
            " (raise --max_source_length / --max_target_length to keep them whole)" if num_sources or num_targets
            else "",
        )
        tokenized[split] = encoded.remove_columns(["source_truncated", "target_truncated"])
    return tokenized


def bucketed_batches(source_lengths: list[int], target_lengths: list[int], *, max_sentences: int | None = None,
                     max_tokens: int | None = None) -> list[list[int]]:
    """
    Indices of pairs sorted by (source, target) length and cut into consecutive batches (shortest first), so that
    nearly no compute goes to padding: OpenNMT-py's bucketing with one bucket. A batch holds at most `max_sentences`
    pairs and, with `max_tokens`, at most that many tokens once padded: batch size x the longest source or target in
    it (fairseq's --max-tokens), so batches of short sentences hold more of them. Callers shuffle the batch order.

    Raises:
        ValueError: one pair alone is longer than `max_tokens`.
    """
    if max_sentences is None and max_tokens is None:
        raise ValueError("bucketed_batches needs max_sentences, max_tokens or both.")
    order = sorted(range(len(source_lengths)), key=lambda i: (source_lengths[i], target_lengths[i]))
    batches, batch, longest = [], [], 0
    for index in order:
        length = max(source_lengths[index], target_lengths[index])
        if max_tokens is not None and length > max_tokens:
            raise ValueError(f"Pair {index} has {length} tokens, more than a batch of {max_tokens} tokens holds: raise "
                             f"--max_tokens_per_batch or lower --max_source_length / --max_target_length.")
        full = (max_sentences is not None and len(batch) == max_sentences) or \
            (max_tokens is not None and (len(batch) + 1) * max(longest, length) > max_tokens)
        if batch and full:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(index)
        longest = max(longest, length)
    if batch:
        batches.append(batch)
    return batches


def in_random_order(batches: list[list[int]], generator: torch.Generator) -> list[list[int]]:
    """`batches` (e.g. of [`bucketed_batches`]) in a random order drawn from `generator`, each batch unchanged."""
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def encode_truncated(encode: Callable, texts: list[str], max_length: int) -> tuple[dict, list[bool]]:
    """
    Encodes `texts` with `encode` (a tokenizer, or a function called like one) truncated to `max_length` tokens, and
    flags which ones were truncated.

    Texts are first encoded whole, so their lengths show which are too long; only those are encoded again with
    truncation, which lets the tokenizer keep its special tokens (e.g. the final `</s>`) inside the limit.
    """
    encodings = encode(texts)
    truncated = [len(ids) > max_length for ids in encodings["input_ids"]]
    too_long = [index for index, is_truncated in enumerate(truncated) if is_truncated]
    if too_long:
        shortened = encode([texts[index] for index in too_long], truncation=True, max_length=max_length)
        for key in shortened:
            for position, index in enumerate(too_long):
                encodings[key][index] = shortened[key][position]
    return encodings, truncated
