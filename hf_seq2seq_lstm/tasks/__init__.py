"""Built-in tasks: datasets generated locally, so the model can be trained with no download.

A task is a function that builds a `datasets.DatasetDict` with train, validation and test splits,
whose `translation` column maps the task's source key to its target key. `load_default_task` is
what training uses when it is given no data.
"""

from collections.abc import Callable
from dataclasses import dataclass

import datasets

from .dates import (
    CASINGS,
    FORMATS,
    LANGUAGES,
    MAX_DATE,
    MIN_DATE,
    SOURCE_LANG,
    TARGET_LANG,
    DateFormat,
    build_date_dataset,
    render_date,
)

__all__ = [
    "CASINGS",
    "DEFAULT_TASK_NAME",
    "FORMATS",
    "LANGUAGES",
    "MAX_DATE",
    "MIN_DATE",
    "SOURCE_LANG",
    "TARGET_LANG",
    "TASKS",
    "DateFormat",
    "TaskSpec",
    "build_date_dataset",
    "builtin_task_for",
    "get_task",
    "load_default_task",
    "render_date",
]


@dataclass(frozen=True)
class TaskSpec:
    """A built-in task: how to build its dataset and which `translation` keys are source and target."""

    name: str
    description: str
    source_lang: str
    target_lang: str
    build: Callable[..., datasets.DatasetDict]


TASKS: dict[str, TaskSpec] = {
    "dates": TaskSpec(
        name="dates",
        description="Normalise dates written in many formats in English, German, French and Spanish "
        "to ISO 8601 (YYYY-MM-DD).",
        source_lang=SOURCE_LANG,
        target_lang=TARGET_LANG,
        build=build_date_dataset,
    ),
}

DEFAULT_TASK_NAME = "dates"


def get_task(name: str) -> TaskSpec:
    """The built-in task called `name`; raises KeyError listing the known names otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; built-in tasks: {sorted(TASKS)}") from None


def builtin_task_for(
    *, dataset_name: str | None = None, train_file: str | None = None, validation_file: str | None = None,
    test_file: str | None = None,
) -> TaskSpec | None:
    """The built-in task that a run given these data arguments trains on: the default task when it names no dataset
    and no file, None when it names any (scripts/train.py's rule; the model card reads it from here too)."""
    if dataset_name or train_file or validation_file or test_file:
        return None
    return get_task(DEFAULT_TASK_NAME)


def load_default_task(**build_kwargs) -> tuple[TaskSpec, datasets.DatasetDict]:
    """The default task and its dataset, built with `build_kwargs` (for dates: seed and split sizes)."""
    task = get_task(DEFAULT_TASK_NAME)
    return task, task.build(**build_kwargs)
