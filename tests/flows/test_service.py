"""``mmrare build-service``: builds sent by ``mmrare build`` run in one warm process, same rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner
from warehouse_rows import CONTENT_TABLES, last_run_counts, warehouse_rows

from mmrare.buildservice import (
    ServiceInfo,
    ServiceRefused,
    find_service,
    health,
    register,
    registration_path,
    request_build,
)
from mmrare.cli import app
from mmrare.config import load_config
from mmrare.errors import FatalError

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def service(prefect_harness, write_config, shared_dir: Path, tmp_path: Path) -> Iterator[tuple]:
    from mmrare.curation.sentences import _nlp
    from mmrare.flows.service import BuildService

    src, config = _one_package(write_config, shared_dir, tmp_path)
    cfg = load_config(config)
    svc = BuildService(cfg, str(config))
    _nlp.cache_clear()  # as in a new service process
    loaded = svc.warm_up()  # everything a top-up would otherwise load first
    assert set(loaded) == {
        "ordo", "linker", "encoder", "label_index", "sentence_splitter", "vocabularies", "tokenizer"
    }
    assert _nlp.cache_info().currsize == 1  # built here, not by the first top-up's parse
    thread = threading.Thread(target=svc.serve_forever, daemon=True)
    thread.start()
    assert svc.ready.wait(30)
    try:
        yield svc, config, src
    finally:
        svc.shutdown()
        thread.join(30)


def _one_package(write_config, shared_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A source folder holding one real case package, and a config building it into tmp_path/ws."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(shared_dir / "pmc" / "packages" / "PMC6358579", src / "PMC6358579")
    return src, write_config(tmp_path / "mmrare.toml", tmp_path / "ws", [src])


def _flat(output: str) -> str:
    """CLI output without the console's line wrapping."""
    return " ".join(output.split())


def _rows(config: Path) -> dict[str, list[tuple]]:
    return warehouse_rows(config, CONTENT_TABLES)


def test_builds_go_to_the_service_keep_its_resources_and_match_a_local_build(
    service, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    from mmrare.flows import resources as resources_module
    from mmrare.flows.build import run_build_flow

    svc, config, src = service
    info = find_service(load_config(config).workspace_dir)
    assert info is not None and info.pid == svc.info.pid
    assert registration_path(load_config(config).workspace_dir).stat().st_mode & 0o077 == 0  # owner only
    assert health(info)["status"] == "ok"

    first = runner.invoke(app, ["build", "--config", str(config), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "built by the build service" in first.output and "1 processed -> 1 cases" in _flat(first.output)
    status = runner.invoke(app, ["status", "--config", str(config)])
    assert status.exit_code == 0 and f"build service: pid {svc.info.pid}" in _flat(status.output)
    warm = resources_module._WARM
    assert warm is not None
    loaded = warm._last
    encoder, ordo, linker = loaded._encoder, loaded._ordo, loaded._linker
    assert encoder is not None and ordo is not None and linker is not None

    shutil.copytree(shared_dir / "pmc" / "packages" / "PMC7500000", src / "PMC7500000")
    second = runner.invoke(app, ["build", "--config", str(config), "--no-progress"])
    assert second.exit_code == 0, second.output
    assert "1 already done, 1 processed -> 1 cases" in _flat(second.output)
    now = resources_module._WARM._last
    assert now is not loaded  # a new object per build, bound to that build's config ...
    assert (now._encoder, now._ordo, now._linker) == (encoder, ordo, linker)  # ... with the same models
    assert health(info)["builds"] == 2
    counts = last_run_counts(config)  # the adopted encoder's use counts from this build's start
    assert sum(use["texts"] for use in counts["encoder"]["by_threads"].values()) == counts["texts_encoded"]

    svc.shutdown()
    assert svc.stopped.wait(30) and resources_module._WARM is None
    assert find_service(load_config(config).workspace_dir) is None
    # the same two builds, cold, without the service (a top-up is not a build in one go: the first
    # case's distractors were drawn before the second case existed)
    local_src = tmp_path / "local-src"
    local = write_config(tmp_path / "local.toml", tmp_path / "ws-local", [local_src])
    for pmcid in ("PMC6358579", "PMC7500000"):
        shutil.copytree(src / pmcid, local_src / pmcid)
        assert run_build_flow(str(local), workers=2, show_progress=False)["processed"] == 1
    assert _rows(local) == _rows(config)


def test_the_service_refuses_what_it_must_not_run_and_goes_on(service, tmp_path: Path) -> None:
    _, config, _ = service
    info = find_service(load_config(config).workspace_dir)
    assert info is not None
    with pytest.raises(ServiceRefused, match="resolves to"):
        request_build(info, str(config), "not-the-hash", 2)
    with pytest.raises(FatalError, match="config file not found"):
        request_build(info, str(tmp_path / "missing.toml"), None, 2)
    other = tmp_path / "other.toml"
    other.write_text(f'workspace = "{tmp_path / "elsewhere"}"\n')
    with pytest.raises(ServiceRefused, match=r"not .*elsewhere"):
        request_build(info, str(other), None, 2)
    forged = replace(info, token="0" * 32)
    with pytest.raises(FatalError, match="wrong token"):
        request_build(forged, str(config), None, 2)
    assert health(info)["builds"] == 0  # nothing ran, and it still answers


def test_build_runs_here_when_the_registered_service_runs_other_code(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    _src, config = _one_package(write_config, shared_dir, tmp_path)
    workspace = load_config(config).workspace_dir
    register(workspace, ServiceInfo(
        pid=os.getpid(), url="http://127.0.0.1:9", token="t", workspace=str(workspace),
        code_version="0.0.0+gold", started_at="2026-01-01T00:00:00+00:00",
    ))
    result = runner.invoke(app, ["build", "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "runs 0.0.0+gold" in _flat(result.output) and "building here" in _flat(result.output)
    assert "1 processed -> 1 cases" in _flat(result.output)


def test_a_dead_service_registration_is_ignored_and_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    register(tmp_path, ServiceInfo(
        pid=gone.pid, url="http://127.0.0.1:9", token="t", workspace=str(tmp_path),
        code_version="x", started_at="2026-01-01T00:00:00+00:00",
    ))
    assert json.loads(registration_path(tmp_path).read_text())["pid"] == gone.pid
    assert find_service(tmp_path) is None
    assert not registration_path(tmp_path).exists()
    registration_path(tmp_path).write_text("{not json")
    assert find_service(tmp_path) is None  # unreadable: no service, and no crash


def test_build_service_command_serves_builds_and_unregisters_on_sigterm(
    write_config, shared_dir: Path, tmp_path: Path
) -> None:
    """The real commands in their own processes: start, register, build, stop."""
    import signal
    import time

    _src, config = _one_package(write_config, shared_dir, tmp_path)
    workspace = load_config(config).workspace_dir
    mmrare = str(Path(sys.executable).parent / "mmrare")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    service = subprocess.Popen(
        [mmrare, "build-service", "--config", str(config), "--no-catch-up"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 240
        while find_service(workspace) is None:
            assert service.poll() is None, service.stdout.read()
            assert time.monotonic() < deadline, "the service did not register"
            time.sleep(0.5)
        built = subprocess.run(
            [mmrare, "build", "--config", str(config), "--no-progress"],
            capture_output=True, text=True, env=env, timeout=600,
        )
        assert built.returncode == 0, built.stdout + built.stderr
        assert f"built by the build service pid {service.pid}" in _flat(built.stdout)
        assert "1 processed -> 1 cases" in _flat(built.stdout)
    finally:
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=60)
    assert service.returncode == 0, out
    assert "build service stopped" in out
    assert not registration_path(workspace).exists()
