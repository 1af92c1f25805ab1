"""No orphans: the processes a command starts end when it ends, even when it is killed.

A command that starts servers and workers (Prefect's API server, the encoder's process, Dask
workers) cannot clean up after ``kill -9``: nothing of it runs any more. So it starts this small
watcher first. The watcher notes the command's descendants every moment; when the command is gone,
however it went, it ends the ones still running (TERM, then KILL), and then itself. It uses only
the standard library and psutil, so it starts in a fraction of the command's time.

Run as ``python -m mmrare.watchdog PID``; :func:`watch_this_process` does that for the caller.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import psutil

POLL_S = 0.5
GRACE_S = 5.0  # between TERM and KILL: servers get to close their files


def watch_this_process() -> subprocess.Popen[bytes]:
    """Start the watcher over the calling process; it ends by itself once the caller is gone."""
    return subprocess.Popen(
        [sys.executable, "-m", "mmrare.watchdog", str(psutil.Process().pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the terminal's group: Ctrl-C is the command's to handle
    )


def watch(pid: int) -> None:
    """Track ``pid``'s descendants until ``pid`` is gone, then end whichever of them still run."""
    me = psutil.Process()
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    seen: dict[int, psutil.Process] = {}
    while parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
        try:
            for child in parent.children(recursive=True):
                if child.pid != me.pid:
                    seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        time.sleep(POLL_S)
    left = [p for p in seen.values() if p.is_running()]  # is_running checks the start time too
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=GRACE_S)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


if __name__ == "__main__":
    watch(int(sys.argv[1]))
