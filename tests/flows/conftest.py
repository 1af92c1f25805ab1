"""One Prefect test server for the whole session (starting one takes seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"

@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect-home")
    settings = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    from prefect.testing.utilities import prefect_test_harness

    try:
        with prefect_test_harness(server_startup_timeout=120):
            yield
    finally:  # the session's other tests see the environment they started with
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One content-keyed cache (ORDO store, embeddings, label index) for every build of the session."""
    return tmp_path_factory.mktemp("mmrare-cache")


@pytest.fixture
def write_config(shared_cache: Path):
    """Write an mmrare.toml pointing at a workspace and local source directories (and at the
    session's shared cache unless ``cache`` is given)."""

    def write(
        path: Path, workspace: Path, local_dirs: list[Path], extra: str = "", cache: Path | None = None
    ) -> Path:
        dirs = ", ".join(f'"{d}"' for d in local_dirs)
        ordo = SHARED / "ordo" / "ORDO_en_4.2.owl.gz"
        path.write_text(
            f'workspace = "{workspace}"\ncache = "{cache or shared_cache}"\n{extra}'
            f'[sources]\nlocal_dirs = [{dirs}]\n[ontology]\nordo_path = "{ordo}"\n'
        )
        return path

    return write
