"""Leave the process as soon as a command's work is stored and printed, skipping the heap's teardown.

After an N = 2000 build the interpreter holds millions of objects (ORDO's index, the linker, spaCy,
the drafts, Prefect's engine). A normal exit deallocates them one by one while the user waits:
1.8 s after a 200-case build, more after a large one, time in which nothing is written. So once a
command has finished (every row committed, every file closed and synced by its own code), this
runs what a normal exit runs that matters, in the same order, and then ends the process:

1. joins the non-daemon threads (the interpreter does this first too);
2. runs the ``atexit`` handlers: logging's flush, Prefect's, the encoder process's shutdown
   (``weakref.finalize``);
3. flushes stdout and stderr, and exits with the command's code through :func:`os._exit`.

Only the teardown is skipped: the deallocation of what is still alive and the module cleanup.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading


def exit_code(code: object) -> int:
    """The process exit status for ``SystemExit(code)``, as the interpreter computes it (a message
    is printed on stderr and gives 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def leave_without_teardown(code: object) -> None:
    """End the process with ``SystemExit(code)``'s status after threads, ``atexit`` handlers and the
    standard streams are done; never returns."""
    status = exit_code(code)
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a broken pipe: nothing to tell
            stream.flush()
    os._exit(status)
