"""End-to-end build benchmark (issue 9): ``mmrare build`` on N synthetic cases, against the encoder.

For each ``--n``: ``mmrare synth`` writes N packages (timed apart, as ``synth_s``), then a real
``mmrare build`` runs in a fresh process, on a fresh workspace and a fresh cache directory, so every
text is embedded for real (ORDO is read cold too). Printed as one JSON object:

- per stage (ingest = discovery + done-check of the packages, parse = parse/decode/select, link,
  draft, leakage, load = every warehouse load): wall, CPU (process tree), peak RSS and items/s, from
  the build's own stage clock (``runs.counts``); the build process's wall, CPU and the peak RSS of its
  whole process tree (sum over the tree, polled every 0.2 s);
- ``sentences_embedded``: distinct texts the build encoded (keys in the fresh embedding cache);
- the raw encoder's sentences/s in the same run, on a random sample of those very texts (found by
  hashing the candidate texts of the warehouse and ORDO labels against the cache keys), encoded with
  the bare ``Encoder.encode`` (batches of <= 64 texts and <= 1,024 padded word pieces, as in the
  build), three passes, the fastest counting (``passes_sentences_per_s`` lists them); the
  encoder-bound limit is sentences embedded / that rate, and ``ratio`` = build wall / limit
  (target <= 1.25);
- ``encoder_timeline`` (from the build's run record): the encoder's first call and the work left
  after its last call, in seconds from the flow's start and before its end, and how long it was busy;
  ``above_limit_s`` splits ``build wall - limit`` by where it went (see :func:`above_limit`);
  ``cpu_floor`` splits the build's CPU by process (its own, the encoder's, the ORDO helper's) and
  gives the wall that CPU alone implies on this many cores (see :func:`cpu_floor`);
  ``encoder_sharing`` gives the encoder's pace per torch thread count against the raw encoder's, and
  what each CPU-second of the build's marked Python cost it (see :func:`encoder_sharing`);
- the incremental step, as users top up: ``mmrare build-service`` is started on the built workspace
  (``service_ready_s``: its start-up, paid once per session), ``--incremental`` more packages
  (another seed, so other PMCIDs) are added, and ``mmrare build`` (sent to the service, which the
  bench checks) builds them: wall as a share of the full build (target <= 3%) and a check that only
  the new cases got rows (old cases' rows unchanged, every stage's work count = the new cases). Then
  the same size of top-up again in a fresh ``mmrare build`` process, without the service
  (``incremental_fresh_process``), for comparison;
- across the N values: cost per case at each N and its slope (target: flat), peak RSS growth.

    .venv/bin/python bench/e2e.py --n 200 --n 2000 [--workers 2] [--executor threads|dask]
        [--incremental 20] [--encoder-sample 2000] [--keep DIR] [--prefect-server long-lived|ephemeral]

Prefect: by default the builds talk to one long-lived ``prefect server start`` (its own PREFECT_HOME
in the bench folder, started before and stopped after the runs), as a deployment with a Prefect
server does; its CPU is not in the build's, but its memory is sampled into the build's peak RSS.
``--prefect-server ephemeral`` makes every build start (and stop) its own server instead, which is
what a bare ``mmrare build`` does: it adds ~8 s to each build.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ORDO = SHARED / "ordo" / "ORDO_en_4.2.owl.gz"
MMRARE = Path(sys.executable).parent / "mmrare"
PMCID_TABLES = ("articles", "sections", "sentences", "figures", "cases", "case_diagnoses", "qa_items")


class TreeSampler:
    """Peak of the summed RSS of a process, all its descendants and ``extra`` processes, on a thread;
    also each descendant's CPU seconds as last seen (``cpu_by_role``), so a build's CPU can be split
    between its own process, the encoder's and the ORDO helper's."""

    def __init__(self, pid: int, every_s: float = 0.2, extra: tuple[int, ...] = ()) -> None:
        self._root = psutil.Process(pid)
        self._extra = [psutil.Process(p) for p in extra]
        self._every = every_s
        self.peak_mb = 0.0
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> (role, user + system seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds per role (``build``, ``encoder``, ``ordo_helper``, ``other``), as last sampled:
        a process's last <= ``every_s`` before it exited are missing (the tree total is exact in
        ``cpu_s``)."""
        out: dict[str, float] = {}
        for role, seconds in self._cpu.values():
            out[role] = round(out.get(role, 0.0) + seconds, 2)
        return out

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _role(self, proc: psutil.Process) -> str:
        if proc.pid == self._root.pid:
            return "build"
        known = self._cpu.get(proc.pid)
        if known is not None:
            return known[0]
        command = " ".join(proc.cmdline())
        if "mmrare.embedding.worker" in command:
            return "encoder"
        if "mmrare.ontology.store" in command:
            return "ordo_helper"
        return "other"

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self._root, *self._root.children(recursive=True), *self._extra]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                    if proc not in self._extra:
                        times = proc.cpu_times()
                        self._cpu[proc.pid] = (self._role(proc), times.user + times.system)
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self._every)


def write_config(path: Path, workspace: Path, cache: Path, dirs: list[Path]) -> Path:
    local = ", ".join(f'"{d}"' for d in dirs)
    path.write_text(
        f'workspace = "{workspace}"\ncache = "{cache}"\n[sources]\nlocal_dirs = [{local}]\n'
        f'[selection]\nallow_synthetic = true\n[ontology]\nordo_path = "{ORDO}"\n'
    )
    return path


def synth(out: Path, n: int, seed: int, cache: Path) -> float:
    """Generate the corpus (python API of ``mmrare synth``); seconds."""
    from mmrare.ontology.store import load_ordo
    from mmrare.synth import SynthOptions, generate_corpus

    started = time.perf_counter()
    index = load_ordo(ORDO, cache / "ordo")
    generate_corpus(index, SynthOptions(n=n, out=out, seed=seed, workers=2))
    return time.perf_counter() - started


class PrefectServer:
    """``prefect server start`` on a free 127.0.0.1 port, home in ``home``; ``env`` points builds at it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def __enter__(self) -> PrefectServer:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_UI_ENABLED": "false",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
        cmd = [str(MMRARE.parent / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            self.__exit__()
            raise SystemExit("prefect server did not become healthy within 120 s")
        self.env = {"PREFECT_API_URL": url}
        return self

    def pids(self) -> tuple[int, ...]:
        if self.proc is None:
            return ()
        try:
            root = psutil.Process(self.proc.pid)
            return (root.pid, *(c.pid for c in root.children(recursive=True)))
        except psutil.Error:
            return ()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class BuildService:
    """``mmrare build-service`` for a workspace, as a user runs it beside their top-ups: started (and
    warm, registered) before, stopped after; ``ready_s`` is its start-up, paid once per session."""

    def __init__(self, config: Path, workers: int, server: PrefectServer | None) -> None:
        self.config = config
        self.workers = workers
        self.server = server
        self.proc: subprocess.Popen[str] | None = None
        self.ready_s = 0.0
        self.sampler: TreeSampler

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> BuildService:
        from mmrare.buildservice import find_service

        from mmrare.config import load_config

        workspace = load_config(self.config).workspace_dir
        env = {**os.environ, **(self.server.env if self.server else {})}
        cmd = [str(MMRARE), "build-service", "--config", str(self.config), "--workers", str(self.workers)]
        log = self.config.parent / "build-service.log"  # a file: a full pipe would stall the service
        started = time.perf_counter()
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.monotonic() + 300
        while (info := find_service(workspace)) is None or info.pid != self.proc.pid:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit(f"the build service did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        self.ready_s = round(time.perf_counter() - started, 2)
        self.sampler = TreeSampler(self.proc.pid).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if getattr(self, "sampler", None) is not None:
            self.sampler.__exit__()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_build(
    config: Path, workers: int, executor: str, server: PrefectServer | None = None,
    expect_service: int | None = None,
) -> dict[str, Any]:
    """``mmrare build`` in a fresh process: wall, CPU and peak RSS of its tree, and its stage figures.

    With ``expect_service`` (a build service's pid), the build must have been sent to that service
    (the client says so); the CPU figure is then the client's only, the service's is in its stages."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [str(MMRARE), "build", "--config", str(config), "--no-progress", "--workers", str(workers),
           "--executor", executor]
    started = time.perf_counter()
    env = {**os.environ, **(server.env if server else {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with TreeSampler(proc.pid, extra=server.pids() if server else ()) as sampler:
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
    if expect_service is not None and f"built by the build service pid {expect_service}" not in out:
        raise SystemExit(f"the build did not go to the build service {expect_service}:\n{out}\n{err}")
    counts = last_run_counts(config)
    stages = {k: v for k, v in counts["stages"].items() if k != "total"}
    flow_total = counts["stages"]["total"]["perf"]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "tree_peak_rss_mb": round(sampler.peak_mb, 1),
        "cpu_by_process_s": sampler.cpu_by_role(),
        # the build's own high-water mark (its stage clock resets the kernel's between stages, so
        # the reaped child's ru_maxrss would only cover the last stage)
        "build_process_peak_rss_mb": counts["stages"]["total"]["perf"]["peak_rss_mb"],
        "flow_wall_s": flow_total["wall_s"],
        "startup_and_teardown_s": round(wall - flow_total["wall_s"], 2),
        "stages": {name: stage.get("perf") for name, stage in stages.items()},
        "counts": {name: {k: v for k, v in stage.items() if k != "perf"} for name, stage in stages.items()},
        "rows_added": counts["rows_added"],
        # when the build's encoder worked, from the flow's start: where the build loses time to the
        # limit (before the first call, after the last one, and its slower pace beside Python)
        "encoder_timeline": counts.get("encoder"),
    }


def last_run_counts(config: Path) -> dict[str, Any]:
    from mmrare.config import load_config

    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        row = con.execute("SELECT counts FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return json.loads(row[0])


def cache_keys(cache: Path) -> set[bytes]:
    """Every key in the embedding cache (sha256(model digest + NUL + text))."""
    keys: set[bytes] = set()
    for path in (cache / "embeddings").glob("*/shards/*/keys.npy"):
        keys.update(bytes(k) for k in np.load(path))
    return keys


def candidate_texts(config: Path) -> list[str]:
    """Texts the build may have embedded: case sentences, item contexts (split as the checks split
    them) and options, descriptor texts, and the ORDO labels of the distractor index."""
    from mmrare.config import load_config
    from mmrare.leakage.segments import split_sentences
    from mmrare.ontology.linking.fallback import fallback_corpus
    from mmrare.ontology.store import load_ordo

    cfg = load_config(config)
    con = duckdb.connect(str(cfg.warehouse_path), read_only=True)
    texts: set[str] = set()
    try:
        texts.update(r[0] for r in con.execute("SELECT text FROM sentences").fetchall())
        for context, options in con.execute("SELECT context, options FROM qa_items").fetchall():
            texts.update(context[s:e] for s, e in split_sentences(context))
            texts.add(context)
            texts.update(json.loads(options))
        for (descriptor,) in con.execute("SELECT descriptor FROM leakage_descriptors").fetchall():
            texts.update(_strings(json.loads(descriptor)))
    finally:
        con.close()
    texts.update(fallback_corpus(load_ordo(ORDO, cfg.cache_path / "ordo"), synonyms=False)[1])
    return sorted(texts)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def encoder_rate(config: Path, cache: Path, sample_size: int, seed: int, repeats: int = 3) -> dict[str, Any]:
    """Raw ``Encoder.encode`` sentences/s on a random sample of the texts the build embedded: the
    fastest of ``repeats`` timed passes. One ~7 s pass varies by up to ~7% on this VM with no change
    to the build's own encoder time (session 9: 269-294/s); the fastest pass is the strictest
    limit, so a noisy slow pass can never make the ratio look better."""
    from mmrare.embedding import load_encoder
    from mmrare.embedding.model import thread_use_since

    encoder = load_encoder()
    keys = cache_keys(cache)
    prefix = hashlib.sha256(f"{encoder.model_sha256}\0".encode())
    embedded = []
    for text in candidate_texts(config):
        hasher = prefix.copy()
        hasher.update(text.encode("utf-8", "surrogatepass"))
        if hasher.digest() in keys:
            embedded.append(text)
    sample = random.Random(seed).sample(embedded, min(sample_size, len(embedded)))
    encoder.encode(sample[:64], batch_size=64)  # warm-up
    before = encoder.thread_use()
    passes = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        encoder.encode(sample, batch_size=64)
        passes.append(time.perf_counter() - started)
    seconds = min(passes)
    timed = thread_use_since(encoder.thread_use(), before)  # the build's run record counts the same way
    word_pieces = sum(use["word_pieces"] for use in timed.values()) // len(passes)  # per pass
    return {
        "sentences_embedded": len(keys),
        "identified": len(embedded),
        "sample": len(sample),
        "mean_chars": round(sum(map(len, sample)) / max(1, len(sample)), 1),
        "seconds": round(seconds, 2),
        "sentences_per_s": round(len(sample) / seconds, 1),
        "word_pieces": word_pieces,
        "word_pieces_per_s": round(word_pieces / seconds, 1),
        "passes_sentences_per_s": [round(len(sample) / t, 1) for t in passes],
        "threads": encoder.threads,
    }


def pmcid_counts(config: Path, pmcids: list[str]) -> dict[str, int]:
    from mmrare.config import load_config

    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        sql = "SELECT count(*) FROM {} WHERE pmcid IN (SELECT unnest(?))"
        return {t: con.execute(sql.format(t), [pmcids]).fetchone()[0] for t in PMCID_TABLES}
    finally:
        con.close()


def pmcids_of(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.iterdir() if p.is_dir() and p.name.startswith("PMC"))


def bench_one(root: Path, n: int, args: argparse.Namespace, server: PrefectServer | None) -> dict[str, Any]:
    corpus, extra = root / "corpus", root / "corpus-extra"
    workspace, cache = root / "ws", root / "cache"
    synth_s = synth(corpus, n, args.seed, root / "synth-cache")
    config = write_config(root / "mmrare.toml", workspace, cache, [corpus])
    build = run_build(config, args.workers, args.executor, server)
    encoder = encoder_rate(config, cache, args.encoder_sample, args.seed)
    limit = encoder["sentences_embedded"] / encoder["sentences_per_s"]
    result: dict[str, Any] = {
        "n": n,
        "synth_s": round(synth_s, 2),
        "build": build,
        "sentences_embedded": encoder["sentences_embedded"],
        "encoder": encoder,
        "encoder_bound_s": round(limit, 2),
        "ratio": round(build["wall_s"] / limit, 3),
        "per_case_s": round(build["wall_s"] / n, 4),
    }
    if (build.get("encoder_timeline") or {}).get("calls"):
        result["above_limit_s"] = above_limit(build, limit)
        result["cpu_floor"] = cpu_floor(build, limit, encoder["threads"], os.cpu_count() or 1)
        if build["encoder_timeline"].get("by_threads"):
            result["encoder_sharing"] = encoder_sharing(build, encoder, limit)
    if args.incremental:
        old = pmcids_of(corpus)
        before = pmcid_counts(config, old)
        with BuildService(config, args.workers, server) as service:
            synth(extra, args.incremental, args.seed + 1, root / "synth-cache")
            config = write_config(root / "mmrare.toml", workspace, cache, [corpus, extra])
            again = run_build(config, args.workers, args.executor, server, expect_service=service.pid)
            again["service_tree_peak_rss_mb"] = round(service.sampler.peak_mb, 1)
        result["incremental"] = {
            "added": args.incremental,
            "via": "build service",
            "service_ready_s": service.ready_s,
            **topup_figures(again, build, config, old, before, pmcids_of(extra), args.incremental),
        }
        # the same size of top-up in a fresh process (no service), for comparison
        extra2 = root / "corpus-extra-2"
        synth(extra2, args.incremental, args.seed + 2, root / "synth-cache")
        config = write_config(root / "mmrare.toml", workspace, cache, [corpus, extra, extra2])
        cold = run_build(config, args.workers, args.executor, server)
        result["incremental_fresh_process"] = {
            "added": args.incremental,
            "via": "mmrare build in a new process",
            **topup_figures(cold, build, config, old, before, pmcids_of(extra2), args.incremental),
        }
    return result


def above_limit(build: dict[str, Any], limit: float) -> dict[str, float]:
    """The build's time above the encoder-bound limit, by where it went (the parts add up to
    ``build wall - limit``): outside the flow (start-up, teardown), before the encoder's first call
    (negative when the CLI's prestarted label index reached the encoder before the flow started),
    the encoder's calls taking longer than the encoder alone would (it runs on one torch thread while
    the build's Python works), gaps between its calls, and the flow's work after its last call."""
    timeline = build["encoder_timeline"]
    inside = timeline["first_call_s"] + timeline["busy_s"] + timeline["idle_between_s"]
    parts = {
        "outside_flow": build["startup_and_teardown_s"],
        "before_first_encoder_call": timeline["first_call_s"],
        "encoder_slower_than_alone": timeline["busy_s"] - limit,
        "between_encoder_calls": timeline["idle_between_s"],
        "after_last_encoder_call": build["flow_wall_s"] - inside,
    }
    return {name: round(value, 2) for name, value in parts.items()}


def cpu_floor(build: dict[str, Any], limit: float, threads: int, cores: int) -> dict[str, float]:
    """What the build's CPU alone implies, whatever the overlap: its processes' CPU seconds spread
    over the machine's ``cores`` with no core ever idle. ``encoder_extra_cpu_s`` is the encoder's CPU
    beyond what it used alone for the same texts (``limit`` x the raw encoder's torch ``threads``,
    each kept busy; the difference includes its start-up);
    ``floor_ratio`` = that floor / limit, a bound the build's wall cannot beat on this machine
    (1.25 needs the build's own process to use at most about a quarter of the encoder's CPU)."""
    cpu = build["cpu_by_process_s"]
    spent = sum(cpu.values())
    floor = spent / cores
    return {
        "build_process_cpu_s": cpu.get("build", 0.0),
        "encoder_cpu_s": cpu.get("encoder", 0.0),
        "encoder_alone_cpu_s": round(limit * threads, 2),
        "encoder_extra_cpu_s": round(cpu.get("encoder", 0.0) - limit * threads, 2),
        "other_cpu_s": round(spent - cpu.get("build", 0.0) - cpu.get("encoder", 0.0), 2),
        "floor_s": round(floor, 2),
        "floor_ratio": round(floor / limit, 3),
        "idle_core_s": round(build["wall_s"] * cores - spent, 2),
    }


def encoder_sharing(build: dict[str, Any], encoder: dict[str, Any], limit: float) -> dict[str, Any]:
    """What the encoder lost to the build's Python, from the build's run record: per torch thread
    count, its seconds and its pace in word pieces (texts differ in length between the two modes)
    against the raw encoder's, and the seconds it took beyond what the raw encoder would have.

    Beside marked Python work the encoder runs one thread fewer and leaves that core to Python; the
    seconds it lost doing so, over the CPU seconds the build used in those stretches, is what each
    CPU-second of the build's Python cost the build's wall (``lost_per_marked_cpu_s``).
    ``ratio_at_that_cost`` is the ratio the build would have if all of its own CPU cost that much and
    nothing else were above the limit (no start-up, no tail): the bound that less Python must lower.
    """
    alone = encoder["word_pieces_per_s"]
    timeline = build["encoder_timeline"]
    modes = {}
    for threads, use in sorted(timeline["by_threads"].items()):
        seconds, pieces = use["seconds"], use["word_pieces"]
        modes[threads] = {
            **use,
            "word_pieces_per_s": round(pieces / seconds, 1) if seconds else None,
            "pace_of_raw": round(pieces / seconds / alone, 3) if seconds else None,
            "above_raw_s": round(seconds - pieces / alone, 2),
        }
    result: dict[str, Any] = {"raw_word_pieces_per_s": alone, "by_threads": modes}
    marked = timeline.get("python_work") or {}
    fewer = str(max(1, encoder["threads"] - 1))
    if marked.get("cpu_s") and fewer in modes and fewer != str(encoder["threads"]):
        lost = modes[fewer]["above_raw_s"] / marked["cpu_s"]
        own_cpu = build["cpu_by_process_s"].get("build", 0.0)
        result["python_work"] = marked
        result["lost_per_marked_cpu_s"] = round(lost, 3)
        result["ratio_at_that_cost"] = round(1 + lost * own_cpu / limit, 3)
    return result


def topup_figures(
    again: dict[str, Any], build: dict[str, Any], config: Path, old: list[str], before: dict[str, int],
    new: list[str], added: int,
) -> dict[str, Any]:
    """A top-up's wall time against the full build, and proof that only the new cases were worked on."""
    counts = again["counts"]
    return {
        "wall_s": again["wall_s"],
        "share_of_full_build": round(again["wall_s"] / build["wall_s"], 4),
        "flow_wall_s": again["flow_wall_s"],
        "stages": again["stages"],
        "work_done": {
            "parsed": counts["parse"]["processed"], "linked": counts["link"]["linked"],
            "drafted": counts["draft"]["cases"], "items_decided": counts["leakage"]["decided"],
            "items_total": counts["leakage"]["items"], "texts_encoded": counts["leakage"].get("encoded"),
        },
        "old_cases_rows_unchanged": pmcid_counts(config, old) == before,
        "new_cases_rows": pmcid_counts(config, new),
        "rows_added": again["rows_added"],
        **({"service_tree_peak_rss_mb": again["service_tree_peak_rss_mb"]}
           if "service_tree_peak_rss_mb" in again else {}),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def scaling(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Cost per case at each N and the slope of a least-squares line through them (per 1,000 cases)."""
    ns = np.array([r["n"] for r in runs], dtype=float)
    per_case = np.array([r["per_case_s"] for r in runs])
    out: dict[str, Any] = {"per_case_s": {int(n): float(c) for n, c in zip(ns, per_case, strict=True)}}
    if len(runs) >= 2:
        slope = float(np.polyfit(ns, per_case, 1)[0])
        out["per_case_slope_s_per_1000_cases"] = round(slope * 1000, 5)
        out["per_case_change"] = round(float(per_case[-1] / per_case[0]), 3)
        rss = [r["build"]["tree_peak_rss_mb"] for r in runs]
        out["peak_rss_growth"] = round(rss[-1] / rss[0], 3)
        out["n_growth"] = round(float(ns[-1] / ns[0]), 3)
    return out


def targets(runs: list[dict[str, Any]], scale: dict[str, Any]) -> dict[str, Any]:
    big = runs[-1]
    out = {
        "ratio_le_1.25": big["ratio"] <= 1.25,
        "peak_rss_le_4gb": big["build"]["tree_peak_rss_mb"] <= 4096,
    }
    if "incremental" in big:
        inc = big["incremental"]
        out["incremental_le_3pct"] = inc["share_of_full_build"] <= 0.03  # through the build service
        parsed_only_new = inc["work_done"]["parsed"] == inc["added"]
        out["incremental_only_new_work"] = inc["old_cases_rows_unchanged"] and parsed_only_new
    if "peak_rss_growth" in scale:
        out["rss_sublinear"] = scale["peak_rss_growth"] < scale["n_growth"]
        slope, change = scale["per_case_slope_s_per_1000_cases"], scale["per_case_change"]
        out["per_case_flat_or_falling"] = slope <= 0.0 or change <= 1.1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="cases (repeatable; default 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", default="threads", choices=("threads", "dask"))
    parser.add_argument("--incremental", type=int, default=20, help="packages added afterwards (0: skip)")
    parser.add_argument("--encoder-sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep corpora and workspaces under this folder")
    parser.add_argument("--prefect-server", default="long-lived", choices=("long-lived", "ephemeral"),
                        help="one Prefect server for all builds (default), or one per build")
    args = parser.parse_args()
    sizes = sorted(args.n or [200])
    report: dict[str, Any] = {"bench": "e2e", "machine": machine(), "workers": args.workers,
                              "executor": args.executor, "prefect_server": args.prefect_server, "runs": []}
    base = args.keep or Path(tempfile.mkdtemp(prefix="mmrare-e2e-"))
    try:
        for n in sizes:
            root = base / f"n{n}"
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            with contextlib.ExitStack() as stack:
                server = None
                if args.prefect_server == "long-lived":
                    server = stack.enter_context(PrefectServer(root / "prefect-home"))
                report["runs"].append(bench_one(root, n, args, server))
            print(f"n={n}: build {report['runs'][-1]['build']['wall_s']} s", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report["scaling"] = scaling(report["runs"])
    report["targets"] = targets(report["runs"], report["scaling"])
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
