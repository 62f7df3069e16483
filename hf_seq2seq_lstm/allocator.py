"""
Keeping freed memory in the process, so that a training or generation step reuses pages instead of faulting in new
ones.

Every step of an RNN seq2seq model allocates the same large tensors again: (tokens x vocabulary) logits, their
gradient and the output layer's weight gradient in training; a (batch x beams, vocabulary) logits copy,
log-probabilities and scores per generated token in beam search. torch's CPU allocator does not cache, and glibc
serves blocks above its mmap threshold (128 KiB to 32 MiB) with fresh `mmap`s and gives them back with `munmap` when
freed, and trims the heap top. Each new 4 KiB page then costs a page fault and a zero fill on first touch, in every
step. With mmap off and trimming off, freed blocks go back to glibc's free lists and the next step reuses them,
already mapped. README's benchmark section gives the measured effect on training and generation speed.

The cost: freed memory is not returned to the OS until the process ends, so the resident size stays at its peak
instead of shrinking between peaks.
"""

import ctypes
import os
import sys

__all__ = ["MALLOC_ENVIRONMENT", "OPT_OUT_VARIABLE", "reuse_freed_memory"]

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
INT_MAX = 2**31 - 1

OPT_OUT_VARIABLE = "HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC"

# The same setting as environment variables, for processes that do not run this module (glibc reads them at start).
MALLOC_ENVIRONMENT = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(INT_MAX)}


def reuse_freed_memory() -> bool:
    """
    Tells glibc's malloc to serve every block from its heap (no `mmap`) and never to trim it, so that freed tensors'
    pages are reused by the next allocation. Process-wide and for the rest of the process. Returns whether the
    setting took effect: False on a C library without `mallopt` (macOS, Windows, musl) or when the environment
    variable HF_SEQ2SEQ_LSTM_SYSTEM_MALLOC is set to a non-empty value other than 0, which keeps the system default.
    The command-line scripts call it in their `__main__` block, before `cli.run_cli(main)`.
    """
    if os.environ.get(OPT_OUT_VARIABLE, "") not in ("", "0") or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # mallopt returns 1 on success; musl's stub returns 0 and changes nothing.
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1
