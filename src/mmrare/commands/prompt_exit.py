"""Leave the process as soon as a command's work is stored and printed, skipping the heap's teardown.

After an N = 2000 build the interpreter holds millions of objects (ORDO's index, the linker, spaCy,
the drafts, Prefect's engine). A normal exit deallocates them one by one while the user waits:
1.8 s after a 200-case build, more after a large one, time in which nothing is written. So once a
command has finished (every row committed, every file closed and synced by its own code), this
runs what a normal exit runs that matters, in the same order, and then ends the process:

1. runs the callbacks registered with ``threading._register_atexit`` (Prefect's log and event
   workers drain there, while its ephemeral API server still runs), then joins the non-daemon
   threads: ``threading._shutdown``, which the interpreter calls first too;
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
    _finish_threads()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a broken pipe: nothing to tell
            stream.flush()
    os._exit(status)


def _finish_threads() -> None:
    """The interpreter's first step at exit, ``threading._shutdown``: threading's own exit callbacks,
    then a join of every non-daemon thread. Without the callbacks, a failed build's error log reached
    Prefect's log worker only after the ephemeral server had stopped ("Error logging to API"). Where
    that private function is missing, or off the main thread (where it must not run), the join alone."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None and threading.current_thread() is threading.main_thread():
        shutdown()
        return
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
