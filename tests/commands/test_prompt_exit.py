"""Leaving after a command without the interpreter's teardown: what a normal exit does that matters
(threads, atexit handlers, buffered output, the exit status) still happens."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mmrare.commands.prompt_exit import exit_code

SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from mmrare.commands.prompt_exit import leave_without_teardown

    class Teardown:
        def __del__(self):
            sys.stdout.write("teardown ran\\n")

    kept = Teardown()
    atexit.register(lambda: sys.stdout.write("atexit ran\\n"))

    def late():
        time.sleep(0.3)
        sys.stdout.write("thread finished\\n")

    threading.Thread(target=late).start()
    # where Prefect's log and event workers drain, before its ephemeral server's atexit stop
    threading._register_atexit(lambda: sys.stdout.write("threading atexit ran\\n"))
    sys.stdout.write("buffered, not flushed\\n")
    {leave}({code!r})
    sys.stdout.write("after the exit\\n")
    """
)


def _run(code: object, leave: str = "leave_without_teardown") -> subprocess.CompletedProcess[str]:
    script = SCRIPT.format(code=code, leave=leave)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_threads_atexit_and_buffered_output_finish_and_the_status_is_kept() -> None:
    done = _run(3)
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["buffered, not flushed", "threading atexit ran", "thread finished", "atexit ran"]
    assert "teardown ran" not in done.stdout  # what was skipped: deallocating what is still alive


def test_the_order_is_a_normal_exits() -> None:
    normal = _run(3, leave="sys.exit")
    assert normal.returncode == 3
    kept = [line for line in normal.stdout.splitlines() if line != "teardown ran"]
    assert kept == _run(3).stdout.splitlines()


def test_a_message_as_the_code_is_printed_and_exits_1() -> None:
    done = _run("no such workspace")
    assert done.returncode == 1
    assert done.stderr.strip() == "no such workspace"


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2)])
def test_exit_code_follows_the_interpreter(code: object, status: int) -> None:
    assert exit_code(code) == status
