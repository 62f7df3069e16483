"""Entry points of the command-line scripts: a user error ends a script with its message, not a traceback."""

import os
import sys

from huggingface_hub.errors import StrictDataclassError

from .allocator import reuse_freed_memory


USER_ERRORS = (ValueError, OSError, FloatingPointError, StrictDataclassError)
TRACEBACK_VARIABLE = "HF_SEQ2SEQ_LSTM_TRACEBACK"


def run_cli(main, argv=None) -> int:
    """
    Runs a script's `main(argv)`. An error about the input, the data, a checkpoint, a config field or a diverging
    loss (ValueError, OSError, StrictDataclassError, FloatingPointError) ends it with its message, on one line, on
    stderr and exit status 1 instead of a traceback; set HF_SEQ2SEQ_LSTM_TRACEBACK=1 to see the traceback. Returns
    the exit status: `sys.exit(run_cli(main))`.

    First it makes glibc keep freed memory for reuse (`allocator.reuse_freed_memory`): every training and generation
    step allocates the same large tensors again, and reused pages cost no page faults.
    """
    reuse_freed_memory()
    try:
        main(argv)
    except USER_ERRORS as error:
        if os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0"):
            raise
        rank = os.environ.get("RANK")
        prefix = f"[rank {rank}] " if rank is not None and os.environ.get("WORLD_SIZE", "1") != "1" else ""
        message = " ".join(str(error).split())  # one line: strict config errors span several
        print(f"{prefix}error: {message}\n(set {TRACEBACK_VARIABLE}=1 for the traceback)", file=sys.stderr, flush=True)
        return 1
    return 0
