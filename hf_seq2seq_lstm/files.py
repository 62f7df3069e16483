"""What the scripts write and where: atomic file writes, and the output folder of a run (ours or the user's, one run
at a time).

Every file we write goes through [`atomic_write`]: the content goes to a temporary file in the same folder, is
flushed and fsynced, and only then renamed over the target, so a kill, a full disk or a crash at any moment leaves
either the old file or the new one, never a truncated one. (`os.replace` is atomic on POSIX and Windows when source
and target are on the same filesystem, hence the same folder.)
"""

import contextlib
import errno
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import IO

TEMPORARY_PREFIX = ".tmp-"


def _fsync_folder(folder: str) -> None:
    """Makes a rename in `folder` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


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
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` (UTF-8) atomically: see [`atomic_write`]."""
    with atomic_write(path) as handle:
        handle.write(text)


def atomic_write_json(path: str | os.PathLike, value, indent: int | None = 2) -> None:
    """Writes `value` as JSON to `path` atomically: see [`atomic_write`]."""
    atomic_write_text(path, json.dumps(value, indent=indent, sort_keys=False) + "\n")


class FolderLockedError(OSError):
    """Another live process holds the lock of an output folder."""


LOCK_FILE = ".hf_seq2seq_lstm.lock"


class OutputFolderLock:
    """
    One run at a time per output folder: `with OutputFolderLock(folder): ...`.

    An advisory `fcntl.flock` on `<folder>/.hf_seq2seq_lstm.lock`, which the kernel releases when the holder exits
    in any way (even `kill -9`), so the lock of a killed run never blocks the next one: a stale lock file is just a
    file that nobody holds. The file records the holder's host and pid for the error message. Where `fcntl` does not
    exist (Windows), no lock is taken.
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
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc_info):
        if self._handle is not None:
            self._handle.close()  # releases the flock; the file stays, harmless, for the next run to lock
            self._handle = None
