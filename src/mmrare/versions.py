"""Versions of the code and of each decision-making component.

Every stored decision names the versions that produced it, so a release can be rebuilt and audited.
Bump a component version whenever its output for the same input may change.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from mmrare import __version__

PARSER_VERSION = "jats-parser/2"  # /2: full publication date and history dates
FIGURE_DECODER_VERSION = "figure-decoder/3"  # /3: phash thumbnail by reducing resize
SELECTION_VERSION = "case-selection/2"  # /2: synthetic packages refused unless allowed
INGEST_VERSION = "ingest/1"
EXTRACTOR_VERSION = "local-extract/1"


@functools.cache
def code_version() -> str:
    """Package version plus the git commit (and ``+dirty``) when run from a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"
