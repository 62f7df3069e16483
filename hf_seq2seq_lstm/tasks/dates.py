"""Date normalisation: the built-in default task, generated locally so training works with no download.

Each example maps a date written the way people write it, in one of many formats and in English,
German, French or Spanish (for instance "Mittwoch, den 3. März 2021", "le 1er mars 2021",
"el 3 de marzo de 2021", "Mar 3 2021", "3/4/2021"), to its ISO 8601 form "YYYY-MM-DD". Solving it
well needs attention: the model must find the day, month and year wherever the format puts them
and copy or translate each into its fixed slot of the output.

Conventions, chosen so that every source string has exactly one correct answer:

* Dates are drawn uniformly over the days from MIN_DATE to MAX_DATE (1900-01-01 to 2099-12-31).
* Years are always written with four digits. Over a 200-year range a two-digit year cannot be
  mapped back to one century, and a fixed pivot (say 1950-2049) would make the target depend on a
  convention the source does not show.
* Each numeric layout has a single reading, whichever format produced it: "M/D/YYYY" (slashes,
  year last) is always month first, as in the US; "D.M.YYYY" (dots) and "D-M-YYYY" (hyphens, year
  last) are always day first; a year written first is always followed by month, then day. French
  and Spanish also write day-first with slashes, so those formats keep the article that marks
  them ("le 4/3/2021", "el 4/3/2021"), which a US date never starts with.
* A weekday, when present, is the true weekday of the date in the same language as the rest.
* Day and month numbers are zero-padded or not at random ("03.04.2021" or "3.4.2021"), and the
  whole string is written in the language's natural casing, lower case, upper case or title case.

Splits are disjoint in dates: no ISO date of the validation or test split occurs in train, so those
splits measure generalisation to unseen dates rather than memorisation of (date, format) pairs.
"""

import datetime
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import datasets

__all__ = [
    "CASINGS",
    "FORMATS",
    "LANGUAGES",
    "MAX_DATE",
    "MIN_DATE",
    "SOURCE_LANG",
    "TARGET_LANG",
    "DateFormat",
    "build_date_dataset",
    "render_date",
]

# Keys of the `translation` column: the source side is the written date, the target its ISO form.
SOURCE_LANG = "text"
TARGET_LANG = "iso"

MIN_DATE = datetime.date(1900, 1, 1)
MAX_DATE = datetime.date(2099, 12, 31)

# Language codes of the formats. "und" (ISO 639 "undetermined") marks the purely numeric
# year-first formats, which belong to no language.
LANGUAGES = ("en", "de", "fr", "es", "und")

# How the whole rendered string is cased, with the weight of each: natural casing is the most
# common in real text, the others teach the model that casing does not change the date.
CASINGS = ("natural", "lower", "upper", "title")
_CASING_WEIGHTS = (3, 1, 1, 1)

# Probability that day and month numbers are written with a leading zero ("03" rather than "3").
_ZERO_PAD_PROBABILITY = 0.5


@dataclass(frozen=True)
class _LanguageNames:
    """Month and weekday names of one language, as written in running text (CLDR forms).

    Weekday tuples start on Monday, matching `datetime.date.weekday()`. `weekdays_abbr` is None for
    a language whose formats only spell weekdays out in full.
    """

    months: tuple[str, ...]
    months_abbr: tuple[str, ...]
    weekdays: tuple[str, ...]
    weekdays_abbr: tuple[str, ...] | None
    ordinal: Callable[[int], str] | None


def _english_ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st, 22nd, 23rd, ..., 31st."""
    if day % 10 in (1, 2, 3) and day % 100 not in (11, 12, 13):
        return f"{day}{('st', 'nd', 'rd')[day % 10 - 1]}"
    return f"{day}th"


def _french_ordinal(day: int) -> str:
    """French writes only the first day of a month as an ordinal: "1er mars" but "2 mars"."""
    return "1er" if day == 1 else str(day)


_NAMES = {
    "en": _LanguageNames(
        months=(
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ),
        months_abbr=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        weekdays_abbr=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        ordinal=_english_ordinal,
    ),
    "de": _LanguageNames(
        months=(
            "Januar", "Februar", "März", "April", "Mai", "Juni",
            "Juli", "August", "September", "Oktober", "November", "Dezember",
        ),
        months_abbr=(
            "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez.",
        ),
        weekdays=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        weekdays_abbr=("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
        # German marks the ordinal with a dot after the number, which the templates write.
        ordinal=None,
    ),
    "fr": _LanguageNames(
        months=(
            "janvier", "février", "mars", "avril", "mai", "juin",
            "juillet", "août", "septembre", "octobre", "novembre", "décembre",
        ),
        months_abbr=(
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
        ),
        weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        weekdays_abbr=("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
        ordinal=_french_ordinal,
    ),
    "es": _LanguageNames(
        months=(
            "enero", "febrero", "marzo", "abril", "mayo", "junio",
            "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
        ),
        months_abbr=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"),
        weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        # Spanish formats spell weekdays out: the abbreviation of "martes" ("mar") would be
        # spelled like that of "marzo" in the same string.
        weekdays_abbr=None,
        ordinal=None,
    ),
    "und": _LanguageNames(months=(), months_abbr=(), weekdays=(), weekdays_abbr=None, ordinal=None),
}


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a date: a language and a `str.format` template.

    Template fields: {d} and {m} day and month numbers (zero-padded or not, per example), {dd} and
    {mm} always zero-padded, {yyyy} four-digit year, {dth} day as an ordinal, {month} and {mon}
    full and abbreviated month names, {weekday} and {wkd} full and abbreviated weekday names.
    """

    language: str
    template: str

    @property
    def has_weekday(self) -> bool:
        """Whether rendered dates name their weekday."""
        return "{weekday}" in self.template or "{wkd}" in self.template


def _formats(language: str, *templates: str) -> tuple[DateFormat, ...]:
    return tuple(DateFormat(language, template) for template in templates)


FORMATS: tuple[DateFormat, ...] = (
    *_formats(
        "en",
        "{month} {d}, {yyyy}",
        "{month} {dth}, {yyyy}",
        "{mon} {d} {yyyy}",
        "{mon} {d}, {yyyy}",
        "{d} {month} {yyyy}",
        "{d} {mon} {yyyy}",
        "{dth} {month} {yyyy}",
        "the {dth} of {month}, {yyyy}",
        "{weekday}, {month} {d}, {yyyy}",
        "{weekday}, {dth} {month} {yyyy}",
        "{wkd}, {d} {mon} {yyyy}",  # e-mail headers (RFC 2822)
        "{wkd} {mon} {d} {yyyy}",  # JavaScript Date.toDateString()
        "{d}-{mon}-{yyyy}",  # spreadsheets and SQL (DD-MON-YYYY)
        "{m}/{d}/{yyyy}",  # US numeric, month first
        "{weekday}, {m}/{d}/{yyyy}",
    ),
    *_formats(
        "de",
        "{d}. {month} {yyyy}",
        "{d}. {mon} {yyyy}",
        "am {d}. {month} {yyyy}",
        "{weekday}, {d}. {month} {yyyy}",
        "{weekday}, den {d}. {month} {yyyy}",  # letter heading
        "{wkd}, {d}. {mon} {yyyy}",
        "{d}.{m}.{yyyy}",
        "{weekday}, {d}.{m}.{yyyy}",
    ),
    *_formats(
        "fr",
        "{dth} {month} {yyyy}",
        "le {dth} {month} {yyyy}",
        "{weekday} {dth} {month} {yyyy}",
        "le {weekday} {dth} {month} {yyyy}",
        "{d} {mon} {yyyy}",
        "{wkd} {d} {mon} {yyyy}",
        "le {d}/{m}/{yyyy}",
    ),
    *_formats(
        "es",
        "{d} de {month} de {yyyy}",
        "el {d} de {month} de {yyyy}",
        "{weekday}, {d} de {month} de {yyyy}",
        "el {weekday}, {d} de {month} de {yyyy}",
        "{d} {mon} {yyyy}",
        "el {d}/{m}/{yyyy}",
        "{d}-{m}-{yyyy}",
    ),
    *_formats(
        "und",
        "{yyyy}-{m}-{d}",  # ISO 8601 itself when zero-padded
        "{yyyy}/{m}/{d}",
        "{yyyy}{mm}{dd}",  # ISO 8601 basic format
    ),
)

# Title casing capitalises each word that starts with a letter; words are separated by spaces and
# the punctuation of the templates. A letter after a digit is not a word start ("3rd", not "3Rd").
_TITLE_WORD_START = re.compile(r"(^|[\s,/-])([^\W\d_])")


def _apply_casing(text: str, casing: str) -> str:
    if casing == "natural":
        return text
    if casing == "lower":
        return text.lower()
    if casing == "upper":
        return text.upper()
    if casing == "title":
        return _TITLE_WORD_START.sub(lambda match: match.group(1) + match.group(2).upper(), text)
    raise ValueError(f"unknown casing {casing!r}; expected one of {CASINGS}")


def render_date(
    day: datetime.date, fmt: DateFormat, *, casing: str = "natural", zero_pad: bool = False
) -> str:
    """Writes `day` in format `fmt`, then applies `casing`; `zero_pad` pads the {d} and {m} fields."""
    names = _NAMES[fmt.language]
    fields = {
        "d": f"{day.day:02d}" if zero_pad else str(day.day),
        "m": f"{day.month:02d}" if zero_pad else str(day.month),
        "dd": f"{day.day:02d}",
        "mm": f"{day.month:02d}",
        "yyyy": f"{day.year:04d}",
    }
    # Name fields exist only for languages that have them, so a template asking for a missing one
    # fails with a KeyError naming the field instead of rendering something wrong.
    if names.months:
        fields["month"] = names.months[day.month - 1]
        fields["mon"] = names.months_abbr[day.month - 1]
        fields["weekday"] = names.weekdays[day.weekday()]
    if names.weekdays_abbr is not None:
        fields["wkd"] = names.weekdays_abbr[day.weekday()]
    if names.ordinal is not None:
        fields["dth"] = names.ordinal(day.day)
    return _apply_casing(fmt.template.format_map(fields), casing)


def _rng(seed: int, purpose: str) -> random.Random:
    """A generator private to one seed and purpose.

    Seeding with a string is deterministic across processes and Python versions (it hashes the
    string with SHA-512, not with the randomised `hash()`), and a separate stream per purpose keeps
    the validation and test splits unchanged when only the train size changes.
    """
    return random.Random(f"hf_seq2seq_lstm.tasks.dates/{seed}/{purpose}")


def _split_days(
    seed: int, train_size: int, validation_size: int, test_size: int
) -> dict[str, list[datetime.date]]:
    """Draws the dates of each split, with no date of validation or test also in train.

    The days of the range are shuffled once; validation and test take distinct days off the front
    and train cycles through the rest, so train repeats a date only when it asks for more examples
    than there are days left.
    """
    ordinals = list(range(MIN_DATE.toordinal(), MAX_DATE.toordinal() + 1))
    held_out = validation_size + test_size
    if held_out >= len(ordinals):
        raise ValueError(
            f"validation_size + test_size = {held_out} leaves no date for train "
            f"({len(ordinals)} days from {MIN_DATE} to {MAX_DATE})"
        )
    _rng(seed, "days").shuffle(ordinals)
    train_pool = ordinals[held_out:]
    chosen = {
        "train": [train_pool[i % len(train_pool)] for i in range(train_size)],
        "validation": ordinals[:validation_size],
        "test": ordinals[validation_size:held_out],
    }
    return {split: [datetime.date.fromordinal(o) for o in days] for split, days in chosen.items()}


def build_date_dataset(
    seed: int = 0,
    train_size: int = 20000,
    validation_size: int = 1000,
    test_size: int = 1000,
    *,
    with_metadata: bool = False,
) -> datasets.DatasetDict:
    """Builds the date-normalisation dataset: splits train, validation and test.

    Each row has a `translation` column {SOURCE_LANG: written date, TARGET_LANG: "YYYY-MM-DD"}.
    Each example draws its format uniformly from FORMATS, then its casing and zero-padding. The
    same seed and sizes give the same dataset in any process. `with_metadata` adds `language` and
    `format` (the template) columns, for per-format evaluation and for checking the data.
    """
    for name, size in (("train_size", train_size), ("validation_size", validation_size), ("test_size", test_size)):
        if size < 0:
            raise ValueError(f"{name} must be >= 0, got {size}")

    feature_columns = {
        # Arrow stores the languages of a Translation sorted, so they are declared sorted for the
        # declared features to equal those read back from disk.
        "translation": datasets.Translation(languages=sorted([SOURCE_LANG, TARGET_LANG])),
    }
    if with_metadata:
        feature_columns["language"] = datasets.Value("string")
        feature_columns["format"] = datasets.Value("string")
    features = datasets.Features(feature_columns)

    splits = {}
    for split, days in _split_days(seed, train_size, validation_size, test_size).items():
        rng = _rng(seed, split)
        columns: dict[str, list] = {name: [] for name in feature_columns}
        for day in days:
            fmt = rng.choice(FORMATS)
            casing = rng.choices(CASINGS, weights=_CASING_WEIGHTS)[0]
            zero_pad = rng.random() < _ZERO_PAD_PROBABILITY
            text = render_date(day, fmt, casing=casing, zero_pad=zero_pad)
            columns["translation"].append({SOURCE_LANG: text, TARGET_LANG: day.isoformat()})
            if with_metadata:
                columns["language"].append(fmt.language)
                columns["format"].append(fmt.template)
        splits[split] = datasets.Dataset.from_dict(columns, features=features, split=datasets.NamedSplit(split))
    return datasets.DatasetDict(splits)
