"""Run the real ``mmrare`` console command in a process of its own, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MMRARE = str(Path(sys.executable).parent / "mmrare")
SHARED = Path(__file__).resolve().parents[3] / "shared"
ORDO = SHARED / "ordo" / "ORDO_en_4.2.owl.gz"


def run_mmrare(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``mmrare ARGS`` with ``MMRARE_CONFIG=config`` and none of the caller's other MMRARE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRARE_")}
    env["MMRARE_CONFIG"] = str(config)
    return subprocess.run(
        [MMRARE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=config.parent
    )
