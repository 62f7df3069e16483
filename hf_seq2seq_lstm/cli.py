"""What every command-line script shares: its entry point (a user error ends it with its message on one line, not a
traceback), signal handling, range checks of numeric flags, and old flag spellings kept for one release.

A script's `__main__` block states each process-wide step it takes, then runs `main` through [`run_cli`]:

    if __name__ == "__main__":
        stop_on_signals()       # SIGTERM / SIGINT end it with status 143 / 130, running `finally` blocks
        reuse_freed_memory()    # hf_seq2seq_lstm.allocator: glibc keeps freed memory for the next step
        sys.exit(run_cli(main))
"""

import argparse
import math
import os
import signal
import sys
from collections.abc import Iterable

from huggingface_hub.errors import StrictDataclassError
from transformers.hf_argparser import string_to_bool

__all__ = [
    "BOOLEAN_FLAG",
    "TRACEBACK_VARIABLE",
    "USER_ERRORS",
    "StdoutClosedError",
    "add_model_flags",
    "add_renamed_flag",
    "bounded",
    "check_flag",
    "run_cli",
    "stop_on_signals",
    "write_stdout",
]


class StdoutClosedError(Exception):
    """The reader of stdout went away (a closed pipe): raised by [`write_stdout`] only."""


def write_stdout(lines: Iterable[str]) -> None:
    """Writes `lines` to stdout and flushes it, so that a closed pipe shows up here, as `StdoutClosedError`, and
    not in the flush at exit."""
    try:
        sys.stdout.writelines(lines)
        sys.stdout.flush()
    except BrokenPipeError as error:
        raise StdoutClosedError() from error


USER_ERRORS = (ValueError, OSError, FloatingPointError, StrictDataclassError)
TRACEBACK_VARIABLE = "HF_SEQ2SEQ_LSTM_TRACEBACK"


def run_cli(main, argv=None) -> int:
    """
    Runs a script's `main(argv)`. An error about the input, the data, a checkpoint, a config field or a diverging
    loss (ValueError, OSError, StrictDataclassError, FloatingPointError) ends it with its message, on one line, on
    stderr and exit status 1 instead of a traceback; set HF_SEQ2SEQ_LSTM_TRACEBACK=1 to see the traceback. Returns
    the exit status: `sys.exit(run_cli(main))`. It changes nothing else in the process (tests call it in-process):
    the `__main__` block of a script takes its process-wide steps itself (see the module docstring).
    """
    try:
        main(argv)
    except StdoutClosedError:
        # The reader of stdout is gone (`| head -1`): stop, quietly, with the status of a process killed by SIGPIPE.
        # Python's shutdown flush of what stdout still buffers would fail again and print "Exception ignored ...
        # BrokenPipeError", so stdout's descriptor now points to /dev/null (the fix of the `signal` module's
        # documentation). Exiting rather than dying of SIGPIPE with SIG_DFL restored, as `cat` does, lets atomic
        # writes clean up, and keeps a broken socket elsewhere (a Hub upload, a DDP store) from killing the process
        # in silence, which that documentation warns of: only write_stdout raises this.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + getattr(signal, "SIGPIPE", 13)  # 13 on POSIX; Windows has no SIGPIPE
    except USER_ERRORS as error:
        if os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0"):
            raise
        rank = os.environ.get("RANK")
        prefix = f"[rank {rank}] " if rank is not None and os.environ.get("WORLD_SIZE", "1") != "1" else ""
        message = " ".join(str(error).split())  # one line: strict config errors span several
        print(f"{prefix}error: {message}\n(set {TRACEBACK_VARIABLE}=1 for the traceback)", file=sys.stderr, flush=True)
        return 1
    return 0


def stop_on_signals() -> None:
    """
    For a script's `__main__` block: SIGTERM (what `docker stop` or a scheduler sends) and SIGINT (Ctrl-C) end the
    run with SystemExit(128 + the signal's number), 143 and 130, the status of a process killed by them, raised
    wherever the run is, so that `finally` blocks run (`files.atomic_write` removes its temporary file: the old file
    stays) and Ctrl-C prints no traceback. (Not in `run_cli`, which tests call in-process.)
    """
    def stop(signum, frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


# Range checks of numeric flags, one wording for every script: "--flag must be an integer >= 1, not 0."


def _describe_range(kind: type, minimum=None, maximum=None, exclusive: bool = False) -> str:
    bounds = [f"{'>' if exclusive else '>='} {minimum}"] if minimum is not None else []
    bounds += [f"<= {maximum}"] if maximum is not None else []
    return " ".join(["an integer" if kind is int else "a finite number", " and ".join(bounds)]).strip()


def _out_of_range(value, minimum=None, maximum=None, exclusive: bool = False) -> bool:
    below = minimum is not None and (value <= minimum if exclusive else value < minimum)
    return (isinstance(value, float) and not math.isfinite(value)) or below or (maximum is not None and value > maximum)


def check_flag(flag: str, value, minimum=None, maximum=None, *, exclusive: bool = False, why: str | None = None):
    """
    Raises a one-line ValueError naming `--flag` when `value` (a parsed number; None, an unset optional flag,
    passes) is not finite or lies outside [`minimum`, `maximum`] (`minimum` excluded with `exclusive`); `why` says
    what the bound stands for.
    """
    if value is not None and _out_of_range(value, minimum, maximum, exclusive):
        described = _describe_range(type(value), minimum, maximum, exclusive)
        raise ValueError(f"--{flag} must be {described}{f' ({why})' if why else ''}, not {value}.")


def bounded(kind: type, minimum=None, maximum=None, *, exclusive: bool = False):
    """The argparse `type=` of [`check_flag`]'s rule: anything else is a usage error naming the flag (exit status 2),
    like a value that is not a number, before anything is loaded."""
    expected = _describe_range(kind, minimum, maximum, exclusive)

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {text!r}") from None
        if _out_of_range(value, minimum, maximum, exclusive):
            raise argparse.ArgumentTypeError(f"must be {expected}, not {text}")
        return value

    return parse


# A boolean flag as train.py (transformers' HfArgumentParser) spells it: given alone it is true, and it also takes a
# value, `--flag true` or `--flag false` (yes/no, 1/0), so that a flag means the same in every script.
BOOLEAN_FLAG = {"type": string_to_bool, "nargs": "?", "const": True, "default": False}


# Flags renamed to the names train.py and transformers' scripts use for the same thing keep their old spelling for one
# release (until 0.2), hidden from --help.


def add_renamed_flag(container, flag: str, *, old: str, required: bool = False, **kwargs) -> argparse.Action:
    """
    `container.add_argument(flag, **kwargs)` (`container`: a parser or an argument group) that also accepts `old`, the
    flag's spelling before it was renamed: the same option under a second name, left out of --help and the usage line
    (a second option string of the flag's own action would be shown). The two spellings form a mutually exclusive
    group, so that giving both is a usage error and either one satisfies a `required` flag.

    Returns:
        The flag's action.
    """
    spellings = container.add_mutually_exclusive_group(required=required)
    action = spellings.add_argument(flag, **kwargs)
    spellings.add_argument(old, **{**kwargs, "dest": action.dest, "help": argparse.SUPPRESS})
    return action


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """The saved model to load and, where it was saved apart, its tokenizer: transformers' `--model_name_or_path`
    and `--tokenizer_name` (before 0.2 also `--model` and `--tokenizer`)."""
    add_renamed_flag(parser, "--model_name_or_path", old="--model", required=True,
                     help="folder of a saved model (and its tokenizer)")
    add_renamed_flag(parser, "--tokenizer_name", old="--tokenizer",
                     help="tokenizer folder, if not saved with the model")
