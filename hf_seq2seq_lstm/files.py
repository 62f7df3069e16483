"""What the scripts write and where: atomic file writes, and the output folder of a run (ours or the user's, one run
at a time).

Every file we write goes through [`atomic_write`]: the content goes to a temporary file in the same folder, is
flushed and fsynced, and only then renamed over the target, so a kill, a full disk or a crash at any moment leaves
either the old file or the new one, never a truncated one. (`os.replace` is atomic on POSIX and Windows when source
and target are on the same filesystem, hence the same folder.)

The output folder of a training run ([`check_output_folder`]) is used only when it is new, empty, or holds a run of
ours, recognised by any of: the marker `_hf_seq2seq_lstm_run.json` ([`mark_run_folder`], written before a run
writes its own files into the folder), the lock file `_hf_seq2seq_lstm.lock` (which only a killed run leaves
behind: [`OutputFolderLock`]), or a `checkpoint-N` subfolder whose config.json is a seq2seq_lstm model (a run killed
or stopped after a checkpoint, or one from before the marker). The marker is not written at the start of a run, so
that a run which fails before it has saved anything leaves the folder as it found it.
"""

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import IO

# the model files' save_pretrained makes its renames durable the same way
from .configuration_seq2seq_lstm import fsync_folder

__all__ = [
    "CHECKPOINT_NAME",
    "LOCK_FILE",
    "RUN_MARKER",
    "TEMPORARY_PREFIX",
    "FolderLockedError",
    "OutputFolderError",
    "OutputFolderLock",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_folder",
    "checkpoint_folders",
    "mark_run_folder",
    "remove_checkpoints",
]

TEMPORARY_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """
    `open(path, mode)` whose content appears at `path` only when the block ends without an error: written to
    `.tmp-<name>-XXXX` beside it, fsynced, then renamed over `path`. On an error (including KeyboardInterrupt and
    the SystemExit of a signal handler) the temporary file is removed and `path` is left as it was.

    Args:
        path: the file to write; its folder must exist.
        mode: "w" (text) or "wb" (bytes).
        encoding: of text mode.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode must be 'w' or 'wb', not {mode!r}")
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    descriptor, temporary = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{os.path.basename(target)}-", dir=folder)
    try:
        with open(descriptor, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(target):
            # mkstemp creates the file readable by the owner only: keep the permissions of the file we replace
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` (UTF-8) atomically: see [`atomic_write`]."""
    with atomic_write(path) as handle:
        handle.write(text)


def atomic_write_json(path: str | os.PathLike, value, indent: int | None = 2, sort_keys: bool = False) -> None:
    """Writes `value` as JSON to `path` atomically: see [`atomic_write`]."""
    atomic_write_text(path, json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n")


class FolderLockedError(OSError):
    """Another live process holds the lock of an output folder."""


# Names starting with "_" are left out of the Trainer's own Hub uploads (--push_to_hub), as are checkpoint-N
LOCK_FILE = "_hf_seq2seq_lstm.lock"


class OutputFolderLock:
    """
    One run at a time per output folder: `with OutputFolderLock(folder): ...`.

    An advisory `fcntl.flock` on `<folder>/_hf_seq2seq_lstm.lock`, which the kernel releases when the holder exits
    in any way (even `kill -9`), so the lock of a killed run never blocks the next one: a stale lock file is just a
    file that nobody holds. The holder removes the file when it lets go, so only a killed run leaves one behind. The
    file records the holder's host and pid for the error message. Where `fcntl` does not exist (Windows), no lock is
    taken.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = os.path.join(os.fspath(folder), LOCK_FILE)
        self._handle = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # Windows
            return self
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while True:
            handle = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    handle.close()
                    raise
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise FolderLockedError(
                    f"{os.path.dirname(self.path)} is in use by another run ({holder}); wait for it to finish or use "
                    f"another --output_dir."
                ) from None
            # A holder removes the file before it lets go (see __exit__): if that happened between our open and our
            # flock, we hold a file that nobody else opens any more, and must lock the one at the path now.
            try:
                current = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.path))
            except FileNotFoundError:
                current = False
            except OSError:
                handle.close()
                raise
            if current:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc_info):
        if self._handle is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)  # while still locked: see the check in __enter__
            self._handle.close()  # releases the flock
            self._handle = None


# The output folder of a run


RUN_MARKER = "_hf_seq2seq_lstm_run.json"
# what the Trainer names its checkpoints (transformers.trainer_utils.PREFIX_CHECKPOINT_DIR), the step in group 1
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")


class OutputFolderError(FileExistsError):
    """The output folder holds files that no run of ours wrote."""


def _is_our_checkpoint(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "seq2seq_lstm"


def checkpoint_folders(folder: str | os.PathLike) -> list[str]:
    """The `checkpoint-N` subfolders of `folder`, as paths, by step N (checkpoint-900 before checkpoint-1800)."""
    folder = os.fspath(folder)
    steps = sorted((int(match.group(1)), name) for name in os.listdir(folder)
                   if (match := CHECKPOINT_NAME.match(name)) and os.path.isdir(os.path.join(folder, name)))
    return [os.path.join(folder, name) for _, name in steps]


def check_output_folder(folder: str | os.PathLike, overwrite: bool = False) -> None:
    """
    Raises unless a run may write into `folder`: it does not exist yet, is empty, or holds a run of ours (see the
    module docstring) — or `overwrite` says to use it whatever it holds.

    Raises:
        `NotADirectoryError`: `folder` is a file.
        `OutputFolderError`: `folder` holds files that no run of ours wrote, and not `overwrite`.
    """
    folder = os.fspath(folder)
    if not os.path.exists(folder):
        return
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"--output_dir {folder} is a file, not a folder: pass a folder (it is created if "
                                 f"missing).")
    entries = sorted(os.listdir(folder))
    if overwrite or not entries or RUN_MARKER in entries or LOCK_FILE in entries \
            or any(_is_our_checkpoint(checkpoint) for checkpoint in checkpoint_folders(folder)):
        return
    shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
    raise OutputFolderError(
        f"--output_dir {folder} holds files that no run of scripts/train.py wrote ({shown}): pass a new or empty "
        f"--output_dir, or --overwrite_output_dir to train into it anyway (its files are kept, except checkpoint-N "
        f"folders and those the run writes)."
    )


def mark_run_folder(folder: str | os.PathLike) -> None:
    """Writes the marker that makes `folder` recognisably the output folder of a run of ours: only its presence
    counts; the content says what it is to a person who finds it."""
    atomic_write_json(os.path.join(os.fspath(folder), RUN_MARKER), {
        "written_by": "hf_seq2seq_lstm scripts/train.py", "format": 1,
        "meaning": "this folder holds the output of a training run: a rerun may resume it or replace its files"})


def remove_checkpoints(folder: str | os.PathLike) -> list[str]:
    """Deletes the `checkpoint-N` subfolders of `folder` (a fresh start in it); returns their paths."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        return []
    removed = checkpoint_folders(folder)
    for checkpoint in removed:
        shutil.rmtree(checkpoint)
    return removed
