"""``mmrare build-service``: one long-lived process runs a workspace's builds with everything loaded.

Every build is still a Prefect flow run of :func:`~mmrare.flows.build.build_flow` with the same
stages, resume ledger and shards; what the service keeps between builds is what does not depend on
the new cases: the imported libraries, ORDO, the linker, the encoder, the embedding cache and the
label index (:func:`~mmrare.flows.resources.keep_resources_warm`), and Prefect's client. A top-up of
20 cases then costs its cases (~1/3 of a fresh process's time), which is what makes frequent
top-ups of a large workspace cheap.

The HTTP side is deliberately small: the standard library's threading server on 127.0.0.1, a token
from the registration file on every request, one build at a time (a second request waits for the
first; the warehouse has a single writer), and every failure answered as one line of JSON while the
service goes on.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mmrare.buildservice import TOKEN_HEADER, ServiceInfo, ServiceRefused, register, unregister
from mmrare.config import Config, load_config
from mmrare.errors import FatalError
from mmrare.flows.build import run_build_flow
from mmrare.flows.resources import keep_resources_warm, release_warm_resources
from mmrare.versions import code_version

log = logging.getLogger(__name__)


class BuildService:
    """The builds of one workspace, served over HTTP on 127.0.0.1 with warm resources."""

    def __init__(self, cfg: Config, config_file: str | None, *, port: int = 0, workers: int = 2) -> None:
        self.cfg = cfg
        self.config_file = config_file
        self.workers = workers
        self.builds = 0
        self._build_lock = threading.Lock()
        self.ready = threading.Event()  # set once registered: clients can find it from then on
        self.stopped = threading.Event()  # set once unregistered and the warm resources released
        self._token = secrets.token_hex(16)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        host, bound = self._server.server_address[:2]
        self.info = ServiceInfo(
            pid=os.getpid(),
            url=f"http://{host}:{bound}",
            token=self._token,
            workspace=str(cfg.workspace_dir),
            code_version=code_version(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def warm_up(self) -> dict[str, float]:
        """Load what every build needs (seconds per part): ORDO, the linker, the encoder, the label
        index (embedded here on a cold cache), curation's sentence splitter (~0.5 s: a tenth of a
        top-up of 20 cases when the first build built it), the drafting vocabularies and leakage's
        tokenizer."""
        from mmrare.annotations.drafting.vocab import load_all
        from mmrare.curation.sentences import split_sentences
        from mmrare.leakage.textnorm import nlp

        resources = keep_resources_warm().bind(self.cfg)
        parts: dict[str, Callable[[], object]] = {
            name: functools.partial(getattr, resources, name)
            for name in ("ordo", "linker", "encoder", "label_index")
        }
        parts |= {
            "sentence_splitter": functools.partial(split_sentences, "A sentence. Another one."),
            "vocabularies": load_all,
            "tokenizer": nlp,
        }
        timings = {}
        for name, load in parts.items():
            started = time.perf_counter()
            load()
            timings[name] = round(time.perf_counter() - started, 2)
        return timings

    def build(self, config_file: str | None, config_hash: str | None, workers: int | None) -> dict[str, Any]:
        """One build as a Prefect flow run; refused when the config resolves differently here."""
        cfg = load_config(Path(config_file) if config_file else None)
        if cfg.workspace_dir != self.cfg.workspace_dir:
            raise ServiceRefused(f"this service builds {self.cfg.workspace_dir}, not {cfg.workspace_dir}")
        if config_hash is not None and cfg.config_hash != config_hash:
            raise ServiceRefused(
                f"the config resolves to {cfg.config_hash} here but {config_hash} in the client "
                "(different file contents or MMRARE_* variables)"
            )
        with self._build_lock:
            result = run_build_flow(config_file, workers=workers or self.workers, show_progress=False)
            self.builds += 1
        return result

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "pid": self.info.pid,
            "workspace": self.info.workspace,
            "code_version": self.info.code_version,
            "builds": self.builds,
            "busy": self._build_lock.locked(),
        }

    def serve_forever(self) -> None:
        """Register, answer requests until interrupted, then remove the registration."""
        workspace = self.cfg.workspace_dir
        register(workspace, self.info)
        self.ready.set()
        try:
            self._server.serve_forever(poll_interval=0.5)
        finally:
            unregister(workspace, self.info.pid)
            self._server.server_close()
            release_warm_resources()
            self.stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` (from another thread)."""
        self._server.shutdown()

    def authorised(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self._token)


def _handler_for(service: BuildService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mmrare-build-service"

        def do_GET(self) -> None:
            if not self._check_token():
                return
            if self.path != "/health":
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path}"})
                return
            self._send(HTTPStatus.OK, service.health())

        def do_POST(self) -> None:
            if not self._check_token():
                return
            if self.path != "/build":
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path}"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                result = service.build(
                    request.get("config_file"), request.get("config_hash"), request.get("workers")
                )
            except ServiceRefused as exc:  # 409: the client builds on its own
                self._send(HTTPStatus.CONFLICT, {"error": str(exc)})
            except FatalError as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except (ValueError, AttributeError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": f"bad request: {exc}"})
            except Exception as exc:  # the service outlives a failed build; the client gets the line
                log.exception("build failed")
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"build failed: {exc!r}"})
            else:
                self._send(HTTPStatus.OK, result)

        def _check_token(self) -> bool:
            if service.authorised(self.headers.get(TOKEN_HEADER)):
                return True
            self._send(HTTPStatus.FORBIDDEN, {"error": "missing or wrong token"})
            return False

        def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler
