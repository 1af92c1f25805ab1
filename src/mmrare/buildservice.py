"""The resident build service of one workspace: where it listens, and how ``mmrare build`` reaches it.

A top-up of a few new cases is dominated by costs that do not depend on them: importing torch and
sentence-transformers (~5 s of CPU), loading ORDO and the linker, starting Prefect.
``mmrare build-service`` pays them once and keeps the loaded objects; ``mmrare build`` finds it through
``<workspace>/build-service.json`` and sends it the build instead of running it in a new process.

This is the half both sides share. It imports neither prefect nor torch, so delegating a build costs
the client well under a second. A registration is trusted only while its process is alive, and a
build is sent only when the service runs the same code and resolves the same configuration (same
``config_hash``); otherwise ``mmrare build`` says why and builds in its own process, as before.
The service listens on 127.0.0.1 only and wants the random token from the registration file, which
only the workspace's owner can read.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError

REGISTRATION_FILE = "build-service.json"
TOKEN_HEADER = "X-Mmrare-Token"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What a running service writes into its workspace so that clients can find and trust it."""

    pid: int
    url: str
    token: str
    workspace: str
    code_version: str
    started_at: str

    @classmethod
    def from_json(cls, text: str) -> ServiceInfo:
        data = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


class ServiceRefused(FatalError):
    """The service will not run this build (other workspace or config); the client builds itself."""


def registration_path(workspace: Path) -> Path:
    return workspace / REGISTRATION_FILE


def register(workspace: Path, info: ServiceInfo) -> Path:
    """Publish ``info`` atomically (write + rename), readable by the owner only (it holds the token)."""
    workspace.mkdir(parents=True, exist_ok=True)
    target = registration_path(workspace)
    fd, tmp = tempfile.mkstemp(dir=workspace, prefix=".build-service-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(info), fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def unregister(workspace: Path, pid: int) -> None:
    """Remove the registration if it is still ``pid``'s (a newer service may have replaced it)."""
    path = registration_path(workspace)
    info = read_registration(workspace)
    if info is not None and info.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read_registration(workspace: Path) -> ServiceInfo | None:
    """The registration in ``workspace``, or None if there is none or it cannot be read."""
    try:
        return ServiceInfo.from_json(registration_path(workspace).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_service(workspace: Path) -> ServiceInfo | None:
    """The live service registered for ``workspace``; a registration whose process is gone is removed."""
    info = read_registration(workspace)
    if info is None:
        return None
    if not _alive(info.pid):
        unregister(workspace, info.pid)
        return None
    return info


def health(info: ServiceInfo, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """The service's ``/health`` answer, or None when it does not answer."""
    try:
        return _call(info, "GET", "/health", None, timeout_s)
    except FatalError:
        return None


def request_build(
    info: ServiceInfo, config_file: str | None, config_hash: str, workers: int
) -> dict[str, Any]:
    """Run a build on the service and return its summary (what ``run_build_flow`` returns).

    A build the service refuses or fails is a :class:`FatalError` carrying the service's one-line
    reason; the service itself goes on serving.
    """
    payload = {"config_file": config_file, "config_hash": config_hash, "workers": workers}
    return _call(info, "POST", "/build", payload, None)


def _call(info: ServiceInfo, method: str, path: str, payload: Any, timeout_s: float | None) -> dict[str, Any]:
    body = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(info.url + path, data=body, method=method)
    request.add_header(TOKEN_HEADER, info.token)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            reason = exc.reason
        error = ServiceRefused if exc.code == 409 else FatalError
        raise error(f"build service at {info.url} (pid {info.pid}): {reason}") from exc
    except (OSError, ValueError) as exc:
        raise FatalError(f"build service at {info.url} (pid {info.pid}) did not answer: {exc}") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reuses the pid: not our service
        return False
    return True
