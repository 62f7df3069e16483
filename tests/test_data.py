"""Tests of hf_seq2seq_lstm.data: every loader path, every bad-input error, and tokenization of the pairs."""

import os

# No network here: datasets and huggingface_hub read these when imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from datasets import Dataset, DatasetDict, Features, Translation, Value  # noqa: E402

from hf_seq2seq_lstm.data import (  # noqa: E402
    load_text_pairs,
    read_text_lines,
    text_pairs_from_dataset,
    tokenize_pairs,
)
from hf_seq2seq_lstm.tokenization import SPECIAL_TOKENS, train_tokenizer  # noqa: E402
from hf_seq2seq_lstm.tokenization_seq2seq_lstm import Seq2SeqLSTMTokenizer  # noqa: E402

# CI runs a clean clone with ../shared beside it.
MULTI30K_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"
requires_multi30k = pytest.mark.skipif(
    not MULTI30K_DIR.is_dir(), reason=f"Multi30k corpus not found at {MULTI30K_DIR}"
)

GERMAN = ["Ein Hund läuft.", "Zwei Männer spielen Fußball.", "Eine Frau trinkt Café."]
ENGLISH = ["A dog runs.", "Two men play soccer.", "A woman drinks coffee."]


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def translation_records(sources=GERMAN, targets=ENGLISH):
    return [{"translation": {"de": de, "en": en, "fr": "x"}} for de, en in zip(sources, targets)]


def as_pairs(dataset):
    return list(zip(dataset["source"], dataset["target"]))


def assert_string_pair_columns(dataset):
    assert dataset.features == Features({"source": Value("string"), "target": Value("string")})


# Loader paths


def test_parallel_text_prefix(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)
    write_lines(tmp_path / "val.de", GERMAN[:1])
    write_lines(tmp_path / "val.en", ENGLISH[:1])

    pairs = load_text_pairs(
        train_file=tmp_path / "train", validation_file=str(tmp_path / "val"), source_lang="de", target_lang="en"
    )

    assert list(pairs) == ["train", "validation"]
    assert as_pairs(pairs["train"]) == list(zip(GERMAN, ENGLISH))
    assert as_pairs(pairs["validation"]) == [(GERMAN[0], ENGLISH[0])]
    assert_string_pair_columns(pairs["train"])


def test_parallel_text_direction_follows_languages(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)

    pairs = load_text_pairs(train_file=tmp_path / "train", source_lang="en", target_lang="de")

    assert as_pairs(pairs["train"]) == list(zip(ENGLISH, GERMAN))


def test_parallel_text_strips_and_skips_blank_lines(tmp_path, caplog):
    # Trailing spaces (as in Multi30k's train.de), CRLF endings, a BOM, and blank lines on either side.
    (tmp_path / "train.de").write_bytes("\ufeffEin Hund läuft.  \r\n\nZwei Männer.\n   \nDrei.\n".encode())
    write_lines(tmp_path / "train.en", ["A dog runs.", "orphan", "Two men.", "lost", ""])

    with caplog.at_level(logging.WARNING, logger="hf_seq2seq_lstm.data"):
        pairs = load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")

    assert as_pairs(pairs["train"]) == [("Ein Hund läuft.", "A dog runs."), ("Zwei Männer.", "Two men.")]
    assert "skipped 3 of 5 pairs" in caplog.text
    assert "'train'" in caplog.text


def test_max_samples(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)
    write_lines(tmp_path / "test.de", GERMAN)
    write_lines(tmp_path / "test.en", ENGLISH)

    pairs = load_text_pairs(
        train_file=tmp_path / "train",
        test_file=tmp_path / "test",
        source_lang="de",
        target_lang="en",
        max_samples={"train": 2, "test": 100},
    )

    assert as_pairs(pairs["train"]) == list(zip(GERMAN[:2], ENGLISH[:2]))
    assert len(pairs["test"]) == 3


@requires_multi30k
def test_multi30k_prefix():
    pairs = load_text_pairs(
        train_file=MULTI30K_DIR / "train", source_lang="de", target_lang="en", max_samples={"train": 2000}
    )

    assert len(pairs["train"]) == 2000
    assert pairs["train"][0] == {
        "source": "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
        "target": "Two young, White males are outside near many bushes.",
    }
    # Some train.de lines end in spaces; they must come out stripped.
    assert all(text == text.strip() for text in pairs["train"]["source"])


def test_jsonl_translation_column(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", translation_records())
    validation = write_jsonl(tmp_path / "validation.json", translation_records()[:2])

    pairs = load_text_pairs(train_file=train, validation_file=validation, source_lang="de", target_lang="en")

    assert as_pairs(pairs["train"]) == list(zip(GERMAN, ENGLISH))
    assert len(pairs["validation"]) == 2
    assert_string_pair_columns(pairs["train"])


def test_csv_text_and_summary_columns(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('id,document,summary\n1,"A long text, with a comma.",Short.\n2,Another text.,Brief.\n')

    pairs = load_text_pairs(train_file=path, text_column="document", summary_column="summary")

    assert as_pairs(pairs["train"]) == [("A long text, with a comma.", "Short."), ("Another text.", "Brief.")]
    assert_string_pair_columns(pairs["train"])


def test_json_null_values_are_skipped(tmp_path, caplog):
    records = [{"document": "Text.", "summary": "Sum."}, {"document": None, "summary": "Sum."}]
    path = write_jsonl(tmp_path / "train.jsonl", records)

    with caplog.at_level(logging.WARNING, logger="hf_seq2seq_lstm.data"):
        pairs = load_text_pairs(train_file=path, text_column="document", summary_column="summary")

    assert as_pairs(pairs["train"]) == [("Text.", "Sum.")]
    assert "skipped 1 of 2 pairs" in caplog.text


def test_local_dataset_folder_by_name(tmp_path):
    # load_dataset resolves a local folder before the Hub and infers the splits from the file names.
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", translation_records())
    write_jsonl(folder / "validation.jsonl", translation_records()[:1])
    write_jsonl(folder / "test.jsonl", translation_records()[1:])

    pairs = load_text_pairs(dataset_name=str(folder), source_lang="en", target_lang="de")

    assert list(pairs) == ["train", "validation", "test"]
    assert as_pairs(pairs["test"]) == list(zip(ENGLISH[1:], GERMAN[1:]))


def test_dataset_with_translation_feature(tmp_path):
    # Hub translation datasets (wmt16, opus_books, ...) type the column as `Translation`; parquet keeps that type.
    folder = tmp_path / "wmt_like"
    folder.mkdir()
    features = Features({"translation": Translation(languages=["de", "en"])})
    records = [{"de": de, "en": en} for de, en in zip(GERMAN, ENGLISH)]
    Dataset.from_dict({"translation": records}, features=features).to_parquet(str(folder / "train.parquet"))

    pairs = load_text_pairs(dataset_name=str(folder), source_lang="de", target_lang="en")
    assert as_pairs(pairs["train"]) == list(zip(GERMAN, ENGLISH))

    with pytest.raises(ValueError) as error:
        load_text_pairs(dataset_name=str(folder), source_lang="de", target_lang="cs")
    assert "['cs']" in str(error.value) and "['de', 'en']" in str(error.value)


def test_text_pairs_from_dataset_in_memory(caplog):
    features = Features({"translation": Translation(languages=["de", "en"])})
    records = [{"de": de, "en": en} for de, en in zip(GERMAN, ENGLISH)]
    splits = DatasetDict(
        {
            "train": Dataset.from_dict({"translation": records}, features=features),
            "extra": Dataset.from_dict({"translation": records[:1]}, features=features),
        }
    )

    with caplog.at_level(logging.WARNING, logger="hf_seq2seq_lstm.data"):
        pairs = text_pairs_from_dataset(splits, source_lang="en", target_lang="de", max_samples={"train": 2})

    assert list(pairs) == ["train"]
    assert as_pairs(pairs["train"]) == list(zip(ENGLISH[:2], GERMAN[:2]))
    assert "Ignoring dataset splits ['extra']" in caplog.text

    with pytest.raises(ValueError) as error:
        text_pairs_from_dataset(DatasetDict({"dev": splits["train"]}), source_lang="en", target_lang="de")
    assert "none of the splits ['train', 'validation', 'test']; it has ['dev']" in str(error.value)


def test_read_text_lines_keeps_every_line(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes("\ufeffErste Zeile.\r\n\n  eingerückt  \nletzte".encode())

    assert read_text_lines(path) == ["Erste Zeile.", "", "  eingerückt  ", "letzte"]


# Bad input


def test_parallel_files_of_different_lengths(tmp_path):
    source = write_lines(tmp_path / "train.de", GERMAN)
    target = write_lines(tmp_path / "train.en", ENGLISH[:2])

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")

    message = str(error.value)
    assert str(source) in message and "3 lines" in message
    assert str(target) in message and "has 2" in message


def test_undecodable_bytes(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)
    target = tmp_path / "train.en"
    target.write_bytes(b"A dog runs.\nTwo men play soccer.\nA woman drinks caf\xe9.\n")  # Latin-1, not UTF-8

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")

    message = str(error.value)
    assert str(target) in message and "line 3" in message and "UTF-8" in message


def test_missing_prefix_files(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")

    message = str(error.value)
    assert str(tmp_path / "train.de") in message and str(tmp_path / "train.en") in message
    assert f"missing: ['{tmp_path / 'train.en'}']" in message


def test_file_given_instead_of_prefix(tmp_path):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=tmp_path / "train.de", source_lang="de", target_lang="en")

    message = str(error.value)
    assert str(tmp_path / "train.de.de") in message
    assert "prefix without the language suffix" in message


def test_missing_language_keys(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", translation_records())

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=path, source_lang="de", target_lang="cs")

    message = str(error.value)
    assert "no language(s) ['cs']" in message and "['de', 'en', 'fr']" in message


def test_missing_columns(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"article": "Text.", "highlights": "Sum."}])

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=path, text_column="document", summary_column="highlights")
    message = str(error.value)
    assert "['document'] not found" in message and "['article', 'highlights']" in message

    with pytest.raises(ValueError) as error:
        load_text_pairs(train_file=path, source_lang="de", target_lang="en")
    message = str(error.value)
    assert "No `translation` column" in message and "['article', 'highlights']" in message


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"source_lang": "de", "target_lang": "en"}, "Give either dataset_name or at least one of"),
        ({"dataset_name": "x", "train_file": "y", "source_lang": "de", "target_lang": "en"}, "and not both"),
        ({"train_file": "y", "text_column": "document"}, "Give both text_column and summary_column or neither"),
        ({"train_file": "y", "source_lang": "de"}, "Give source_lang and target_lang"),
        ({"train_file": "y", "source_lang": "de", "target_lang": "en", "max_samples": {"valid": 3}}, "['valid']"),
    ],
)
def test_inconsistent_arguments(kwargs, expected):
    with pytest.raises(ValueError) as error:
        load_text_pairs(**kwargs)
    assert expected in str(error.value)


# Tokenization


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(GERMAN * 5 + ENGLISH * 5, vocab_size=200, min_frequency=1)


def test_tokenize_pairs(tmp_path, tokenizer, caplog):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)
    pairs = load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")
    lengths = [len(tokenizer(text)["input_ids"]) for text in GERMAN]
    max_source_length = max(lengths) - 1
    num_truncated = sum(length > max_source_length for length in lengths)

    with caplog.at_level(logging.INFO, logger="hf_seq2seq_lstm.data"):
        tokenized = tokenize_pairs(pairs, tokenizer, max_source_length=max_source_length, max_target_length=3)

    train = tokenized["train"]
    assert train.column_names == ["input_ids", "attention_mask", "labels"]
    for row, text, length in zip(train, GERMAN, lengths):
        if length <= max_source_length:
            assert row["input_ids"] == tokenizer(text)["input_ids"]
        assert len(row["input_ids"]) == min(length, max_source_length)
        assert row["attention_mask"] == [1] * len(row["input_ids"])
        # Truncation happens before the post-processor, so every sequence still ends with </s>.
        assert row["input_ids"][-1] == tokenizer.eos_token_id == 2
        assert len(row["labels"]) == 3 and row["labels"][-1] == 2
    expected = f"truncated {num_truncated} of 3 sources to {max_source_length} tokens and 3 targets to 3 tokens"
    assert expected in caplog.text


def test_tokenize_pairs_with_separate_vocabularies(tmp_path, tokenizer):
    write_lines(tmp_path / "train.de", GERMAN)
    write_lines(tmp_path / "train.en", ENGLISH)
    pairs = load_text_pairs(train_file=tmp_path / "train", source_lang="de", target_lang="en")
    target_tokenizer = train_tokenizer(ENGLISH * 5, model_type="unigram", vocab_size=60)
    both = Seq2SeqLSTMTokenizer(tokenizer_object=tokenizer.backend_tokenizer,
                                target_tokenizer_object=target_tokenizer.backend_tokenizer, **SPECIAL_TOKENS)

    tokenized = tokenize_pairs(pairs, both, 64, 64)

    assert tokenized["train"]["input_ids"] == [tokenizer(text)["input_ids"] for text in GERMAN]
    assert tokenized["train"]["labels"] == [target_tokenizer(text)["input_ids"] for text in ENGLISH]
