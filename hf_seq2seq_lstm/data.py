# Copyright 2026 The hf-seq2seq-lstm authors. Licensed under the Apache License, Version 2.0.
"""Loading text-to-text data (translation or summarization pairs) and tokenizing it for the seq2seq model.

[`load_text_pairs`] turns any of the supported inputs into a [`~datasets.DatasetDict`] whose splits have exactly
two string columns, `source` and `target` ([`text_pairs_from_dataset`] does the same for a `DatasetDict` already in
memory); [`tokenize_pairs`] turns those into `input_ids`, `attention_mask` and `labels`. Keeping one intermediate
format means tokenizer training, model training and evaluation do not care where the text came from.
[`read_text_lines`] reads one plain UTF-8 text file, e.g. sources to translate.
"""

import logging
import os
from collections.abc import Callable

from datasets import Dataset, DatasetDict, Translation, load_dataset
from transformers import PreTrainedTokenizerBase


logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
# File extensions read with the `datasets` builder of the same name; any other path is a parallel-text prefix.
STRUCTURED_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv"}


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
    more of `train_file`, `validation_file`, `test_file`. A file ending in `.json`, `.jsonl` or `.csv` is read with
    the `datasets` builder of that name. Any other file argument is a parallel-text PREFIX: `PREFIX.<source_lang>`
    and `PREFIX.<target_lang>` must exist, be UTF-8, have one sentence per line and the same number of lines (e.g.
    `multi30k/train` for `multi30k/train.de` and `multi30k/train.en`).

    The pairs are taken from plain columns `text_column` -> `summary_column` when both are given, otherwise from a
    `translation` column of `{language: text}` dicts, `source_lang` -> `target_lang`.

    Cleaning, the same for every input: leading and trailing whitespace is stripped, and pairs whose source or
    target is missing, empty or whitespace-only are skipped (dropped); the number skipped per split is logged as a
    warning. In parallel files such lines are usually blank separator or trailing lines.

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
        `ValueError`: for inconsistent arguments, missing files, parallel files of different lengths, bytes that are
        not UTF-8, or a dataset without the requested languages or columns. The message says what was found.
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
        raw_splits = load_dataset(dataset_name, dataset_config_name)
    else:
        raw_splits = DatasetDict()
        for split, path in files.items():
            builder = STRUCTURED_FILE_BUILDERS.get(os.path.splitext(path)[1].lower())
            if builder is None:
                raw_splits[split] = _read_parallel_text(path, source_lang, target_lang)
            else:
                raw_splits[split] = load_dataset(builder, data_files=os.fspath(path), split="train")
    return text_pairs_from_dataset(
        raw_splits,
        source_lang=source_lang,
        target_lang=target_lang,
        text_column=text_column,
        summary_column=summary_column,
        max_samples=max_samples,
    )


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
    `source`/`target` pairs, selecting and cleaning them as [`load_text_pairs`] does; see there for the arguments.

    Raises:
        `ValueError`: for inconsistent arguments, none of the three splits, or a dataset without the requested
        languages or columns.
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
        dataset = _select_pairs(dataset, source_lang, target_lang, text_column, summary_column)
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


def _read_parallel_text(prefix: str | os.PathLike, source_lang: str | None, target_lang: str | None) -> Dataset:
    """Reads `prefix.<source_lang>` and `prefix.<target_lang>` into a `Dataset` with a `translation` column."""
    if source_lang is None or target_lang is None:
        raise ValueError(
            f"{os.fspath(prefix)!r} is read as a parallel-text prefix (it is not .json/.jsonl/.csv), which needs "
            "source_lang and target_lang."
        )
    source_path = f"{os.fspath(prefix)}.{source_lang}"
    target_path = f"{os.fspath(prefix)}.{target_lang}"
    missing = [path for path in (source_path, target_path) if not os.path.isfile(path)]
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
    mark; nothing else is stripped or skipped.

    Raises:
        `ValueError`: naming the file and line number of bytes that are not UTF-8.
    """
    path = os.fspath(path)
    lines = []
    # Binary mode splits on "\n" only, like the files' producers, whereas text-mode helpers such as str.splitlines
    # also split on Unicode separators that may occur inside a sentence.
    with open(path, "rb") as file:
        for line_number, raw_line in enumerate(file, start=1):
            try:
                # A UTF-8 byte-order mark (from some Windows editors) is not part of the first sentence.
                line = raw_line.decode("utf-8-sig" if line_number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{path!r}, line {line_number}: bytes that are not valid UTF-8 ({error}). Convert the file to "
                    "UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                ) from error
            lines.append(line.rstrip("\r\n"))
    return lines


def _select_pairs(
    dataset: Dataset,
    source_lang: str | None,
    target_lang: str | None,
    text_column: str | None,
    summary_column: str | None,
) -> Dataset:
    """Maps a dataset's `translation` column or its text/summary columns to `source`/`target`."""
    if text_column is not None:
        missing = [column for column in (text_column, summary_column) if column not in dataset.column_names]
        if missing:
            raise ValueError(
                f"Columns {missing} not found; the dataset has columns {dataset.column_names}. Set text_column and "
                "summary_column to two of them."
            )
        return dataset.map(
            lambda batch: {"source": batch[text_column], "target": batch[summary_column]},
            batched=True,
            remove_columns=dataset.column_names,
        )

    if "translation" not in dataset.column_names:
        raise ValueError(
            f"No `translation` column; the dataset has columns {dataset.column_names}. Give text_column and "
            "summary_column to read plain columns."
        )
    feature = dataset.features["translation"]
    # `Translation` features (Hub datasets) list their languages; json files give a dict of one feature per language.
    languages = list(feature.languages) if isinstance(feature, Translation) else list(feature)
    missing = [lang for lang in (source_lang, target_lang) if lang not in languages]
    if missing:
        raise ValueError(
            f"The `translation` column has no language(s) {missing}; it has {languages}. Set source_lang and "
            "target_lang to two of them."
        )
    return dataset.map(
        lambda batch: {
            "source": [pair[source_lang] for pair in batch["translation"]],
            "target": [pair[target_lang] for pair in batch["translation"]],
        },
        batched=True,
        remove_columns=dataset.column_names,
    )


def _clean_pairs(dataset: Dataset, split: str) -> Dataset:
    """Strips whitespace and drops pairs with a missing or blank side, logging how many were dropped."""

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
        sources, sources_truncated = _encode_truncated(tokenizer, batch["source"], max_source_length)
        targets, targets_truncated = _encode_truncated(encode_targets, batch["target"], max_target_length)
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


def _encode_truncated(encode: Callable, texts: list[str], max_length: int) -> tuple[dict, list[bool]]:
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
