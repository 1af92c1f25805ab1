"""Prefect settings for a workspace, applied before Prefect is imported.

Prefect reads its settings from the environment at import time, so this module must not import
prefect. It keeps Prefect's state inside the workspace, runs a local ephemeral server with a long
enough start-up timeout for a 2-core machine, and switches analytics off.
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare_prefect_env(workspace: Path, startup_timeout_s: int = 120) -> None:
    """Point Prefect at ``workspace/.prefect`` (unless the user configured a Prefect API)."""
    home = workspace / ".prefect"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(max(90, startup_timeout_s)))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
