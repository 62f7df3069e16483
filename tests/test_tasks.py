"""Tests of the built-in date-normalisation task (hf_seq2seq_lstm.tasks)."""

import datetime
import hashlib
import json
import os
import re
import subprocess
import sys

import datasets
import pytest

from hf_seq2seq_lstm.tasks import (
    DEFAULT_TASK_NAME,
    FORMATS,
    LANGUAGES,
    SOURCE_LANG,
    TARGET_LANG,
    DateFormat,
    build_date_dataset,
    get_task,
    load_default_task,
    render_date,
)

SPLITS = ("train", "validation", "test")

# Weekday names written out here, Monday first, independently of the module's tables, so that a
# wrong name or an off-by-one weekday in the module cannot agree with the check.
WEEKDAY_NAMES = {
    "en": [
        ("monday", "mon"), ("tuesday", "tue"), ("wednesday", "wed"), ("thursday", "thu"),
        ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"),
    ],
    "de": [
        ("montag", "mo."), ("dienstag", "di."), ("mittwoch", "mi."), ("donnerstag", "do."),
        ("freitag", "fr."), ("samstag", "sa."), ("sonntag", "so."),
    ],
    "fr": [
        ("lundi", "lun."), ("mardi", "mar."), ("mercredi", "mer."), ("jeudi", "jeu."),
        ("vendredi", "ven."), ("samedi", "sam."), ("dimanche", "dim."),
    ],
    "es": [
        ("lunes",), ("martes",), ("miércoles",), ("jueves",), ("viernes",), ("sábado",), ("domingo",),
    ],
}


def named_weekdays(text: str, language: str) -> set[int]:
    """Indices (Monday = 0) of the weekdays of `language` that `text` names, as whole words."""
    found = set()
    for index, spellings in enumerate(WEEKDAY_NAMES[language]):
        for spelling in spellings:
            if re.search(rf"(?<!\w){re.escape(spelling)}(?!\w)", text.casefold()):
                found.add(index)
    return found


def digest(dataset_dict: datasets.DatasetDict) -> str:
    """A hash of every split's rows, comparable across processes."""
    rows = {split: dataset_dict[split].to_dict() for split in dataset_dict}
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@pytest.fixture(scope="module")
def dataset() -> datasets.DatasetDict:
    """The default-size dataset with its metadata columns, built once for the module."""
    return build_date_dataset(seed=0, with_metadata=True)


def test_split_sizes_and_features(dataset):
    assert set(dataset) == set(SPLITS)
    assert [dataset[split].num_rows for split in SPLITS] == [20000, 1000, 1000]
    small = build_date_dataset(seed=0, train_size=30, validation_size=20, test_size=10)
    assert [small[split].num_rows for split in SPLITS] == [30, 20, 10]
    assert small["train"].features == datasets.Features(
        {"translation": datasets.Translation(languages=[TARGET_LANG, SOURCE_LANG])}
    )
    assert set(small["train"][0]["translation"]) == {SOURCE_LANG, TARGET_LANG}


def test_metadata_columns_do_not_change_the_data(dataset):
    plain = build_date_dataset(seed=0)
    for split in SPLITS:
        assert plain[split]["translation"] == dataset[split]["translation"]


def test_same_seed_same_dataset_different_seed_different_dataset():
    first = build_date_dataset(seed=3, train_size=500, validation_size=100, test_size=100)
    second = build_date_dataset(seed=3, train_size=500, validation_size=100, test_size=100)
    other = build_date_dataset(seed=4, train_size=500, validation_size=100, test_size=100)
    assert digest(first) == digest(second)
    assert digest(first) != digest(other)


def test_same_dataset_in_another_process():
    # A different hash seed in the child shows the data does not depend on hash() randomisation.
    sizes = dict(seed=3, train_size=500, validation_size=100, test_size=100)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from hf_seq2seq_lstm.tasks import build_date_dataset;"
        "from test_tasks import digest;"
        f"print(digest(build_date_dataset(**{sizes!r})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "HF_HUB_OFFLINE": "1"}
    child = subprocess.run(
        [sys.executable, "-c", script, os.path.dirname(__file__)],
        env=env, capture_output=True, text=True, check=True,
    )
    assert child.stdout.strip() == digest(build_date_dataset(**sizes))


def test_held_out_splits_share_no_date_with_train_or_each_other(dataset):
    dates = {split: {row[TARGET_LANG] for row in dataset[split]["translation"]} for split in SPLITS}
    assert not dates["train"] & dates["validation"]
    assert not dates["train"] & dates["test"]
    assert not dates["validation"] & dates["test"]
    # Held-out dates are distinct within their split, so each one tests a new date.
    assert len(dates["validation"]) == 1000 and len(dates["test"]) == 1000


def test_held_out_splits_do_not_depend_on_train_size():
    small = build_date_dataset(seed=0, train_size=10, validation_size=50, test_size=50)
    large = build_date_dataset(seed=0, train_size=2000, validation_size=50, test_size=50)
    for split in ("validation", "test"):
        assert small[split]["translation"] == large[split]["translation"]


def test_train_may_repeat_dates_only_beyond_the_available_days():
    train_days = 73049 - 2  # days from 1900-01-01 to 2099-12-31, less the two held-out ones
    built = build_date_dataset(seed=0, train_size=train_days + 5, validation_size=1, test_size=1)
    train_dates = [row[TARGET_LANG] for row in built["train"]["translation"]]
    assert len(set(train_dates)) == train_days
    held_out = {built[split]["translation"][0][TARGET_LANG] for split in ("validation", "test")}
    assert not held_out & set(train_dates)


def test_invalid_sizes_are_rejected():
    with pytest.raises(ValueError):
        build_date_dataset(train_size=-1)
    with pytest.raises(ValueError):
        build_date_dataset(validation_size=40000, test_size=40000)


def test_targets_are_valid_iso_dates_in_range(dataset):
    for split in SPLITS:
        for row in dataset[split]["translation"]:
            target = row[TARGET_LANG]
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target), target
            day = datetime.date.fromisoformat(target)
            assert datetime.date(1900, 1, 1) <= day <= datetime.date(2099, 12, 31)


def test_sources_are_short_and_non_empty(dataset):
    for split in SPLITS:
        for row in dataset[split]["translation"]:
            source = row[SOURCE_LANG]
            assert source.strip() == source and 0 < len(source) <= 40, source


def test_every_language_and_format_appears(dataset):
    train = dataset["train"]
    assert set(train["language"]) == set(LANGUAGES)
    seen = set(zip(train["language"], train["format"]))
    assert seen == {(fmt.language, fmt.template) for fmt in FORMATS}
    assert len(FORMATS) >= 30
    # Casing varies: some sources are entirely upper case, some entirely lower case.
    sources = [row[SOURCE_LANG] for row in train["translation"] if re.search(r"[^\W\d_]", row[SOURCE_LANG])]
    assert any(source.isupper() for source in sources)
    assert any(source.islower() for source in sources)


def test_named_weekday_is_the_weekday_of_the_target(dataset):
    with_weekday = {language: 0 for language in WEEKDAY_NAMES}
    for split in SPLITS:
        for row, language, template in zip(
            dataset[split]["translation"], dataset[split]["language"], dataset[split]["format"]
        ):
            if language not in WEEKDAY_NAMES:
                continue
            named = named_weekdays(row[SOURCE_LANG], language)
            weekday = datetime.date.fromisoformat(row[TARGET_LANG]).weekday()
            assert named in (set(), {weekday}), (row, language)
            assert bool(named) == DateFormat(language, template).has_weekday, (row, language)
            with_weekday[language] += bool(named)
    # The check above is not vacuous: every language names weekdays in many examples.
    assert all(count >= 100 for count in with_weekday.values()), with_weekday


@pytest.mark.parametrize(
    ("language", "template", "day", "options", "expected"),
    [
        ("de", "{d}. {month} {yyyy}", (2021, 3, 3), {}, "3. März 2021"),
        ("de", "{weekday}, den {d}. {month} {yyyy}", (2021, 3, 3), {}, "Mittwoch, den 3. März 2021"),
        ("de", "{d}.{m}.{yyyy}", (2021, 4, 3), {"zero_pad": True}, "03.04.2021"),
        ("fr", "le {dth} {month} {yyyy}", (2021, 3, 3), {}, "le 3 mars 2021"),
        ("fr", "le {dth} {month} {yyyy}", (2021, 3, 1), {}, "le 1er mars 2021"),
        ("fr", "{wkd} {d} {mon} {yyyy}", (2021, 2, 2), {}, "mar. 2 févr. 2021"),
        ("es", "{d} de {month} de {yyyy}", (2021, 3, 3), {}, "3 de marzo de 2021"),
        ("es", "el {weekday}, {d} de {month} de {yyyy}", (1999, 12, 31), {}, "el viernes, 31 de diciembre de 1999"),
        ("en", "{month} {dth}, {yyyy}", (2021, 3, 3), {}, "March 3rd, 2021"),
        ("en", "{month} {dth}, {yyyy}", (2021, 3, 12), {}, "March 12th, 2021"),
        ("en", "{month} {dth}, {yyyy}", (2021, 3, 22), {}, "March 22nd, 2021"),
        ("en", "{mon} {d} {yyyy}", (2021, 3, 3), {}, "Mar 3 2021"),
        ("en", "{m}/{d}/{yyyy}", (2021, 4, 3), {}, "4/3/2021"),
        ("en", "the {dth} of {month}, {yyyy}", (1900, 1, 1), {"casing": "title"}, "The 1st Of January, 1900"),
        ("en", "{wkd}, {d} {mon} {yyyy}", (2099, 12, 31), {"casing": "upper"}, "THU, 31 DEC 2099"),
        ("de", "{weekday}, {d}. {month} {yyyy}", (2021, 3, 3), {"casing": "lower"}, "mittwoch, 3. märz 2021"),
        ("und", "{yyyy}{mm}{dd}", (2021, 3, 3), {}, "20210303"),
    ],
)
def test_render_date_examples(language, template, day, options, expected):
    fmt = DateFormat(language, template)
    assert fmt in FORMATS
    assert render_date(datetime.date(*day), fmt, **options) == expected


def test_default_task_registry():
    assert DEFAULT_TASK_NAME == "dates"
    task, built = load_default_task(seed=1, train_size=20, validation_size=5, test_size=5)
    assert task is get_task(DEFAULT_TASK_NAME)
    assert (task.source_lang, task.target_lang) == (SOURCE_LANG, TARGET_LANG)
    assert built["train"]["translation"] == build_date_dataset(
        seed=1, train_size=20, validation_size=5, test_size=5
    )["train"]["translation"]
    with pytest.raises(KeyError, match="dates"):
        get_task("no-such-task")
