"""``kill -9`` of a build leaves nothing running, and ``status`` calls the dead run interrupted at
once (issue: the Prefect server and the encoder's process outlived a killed build, and ``status``
called the run ``running`` until the next build started)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from cli_run import MMRARE, ORDO, SHARED, run_mmrare

pytestmark = pytest.mark.slow


def _descendants(proc: psutil.Process) -> dict[int, psutil.Process]:
    try:
        return {p.pid: p for p in proc.children(recursive=True)}
    except psutil.Error:
        return {}


def test_a_killed_build_leaves_no_process_and_is_called_interrupted(tmp_path: Path) -> None:
    config = tmp_path / "mmrare.toml"
    package = SHARED / "pmc" / "packages" / "PMC7500000"
    config.write_text(
        f'workspace = "{tmp_path / "ws"}"\n[sources]\nlocal_dirs = ["{package}"]\n'
        f'[ontology]\nordo_path = "{ORDO}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRARE_")}
    env["MMRARE_CONFIG"] = str(config)
    build = subprocess.Popen(
        [MMRARE, "build", "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    me = psutil.Process(build.pid)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 240
    try:  # until the Prefect server and the encoder's process both run
        while time.monotonic() < deadline and build.poll() is None:
            seen.update(_descendants(me))
            lines = [" ".join(p.cmdline()) for p in seen.values() if p.is_running()]
            if any("uvicorn" in line for line in lines) and any("spawn_main" in line for line in lines):
                break
            time.sleep(0.2)
        assert build.poll() is None, "the build ended before its servers were seen"
        os.kill(build.pid, signal.SIGKILL)
        build.wait(timeout=30)
        _, alive = psutil.wait_procs(list(seen.values()), timeout=30)
        assert alive == [], [" ".join(p.cmdline()) for p in alive]
    finally:
        for proc in [me, *seen.values()]:
            if proc.is_running():
                proc.kill()
    status = run_mmrare(config, "status")
    assert status.returncode == 0, status.stderr
    assert "(build): interrupted" in status.stdout
