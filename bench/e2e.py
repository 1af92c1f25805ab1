"""End-to-end build benchmark: what a user waits for, against what the sentence encoder alone needs.

For each ``--n``:

- ``mmrare synth --n N --seed S`` writes N synthetic packages (timed apart, as ``synth_s``; it uses a
  cache of its own, so the build's cache stays empty);
- ``mmrare build --no-progress`` runs in a fresh process on a fresh workspace and a fresh cache, so
  every text is embedded for real and ORDO is read cold. Reported: the build's wall and CPU (its
  whole process tree, the encoder's child process included), the peak of the summed RSS of that tree
  (sampled every 0.2 s; with a long-lived Prefect server, the server's RSS is in the sum too), and
  per stage the wall, CPU, peak RSS and items of the build's own run record (``runs.counts``);
- ``sentences_embedded``: the distinct keys in the fresh embedding cache, i.e. the texts the build
  sent to the encoder. The raw encoder's rate is measured on a random sample of those very texts
  (found by hashing the warehouse's texts and ORDO's labels against the cache keys) with a bare
  ``load_encoder().encode``, fastest of three passes (a slow pass must not flatter the ratio). The
  encoder-bound limit is ``sentences_embedded / rate``; ``ratio = build wall / limit`` (guard: <= 1.5);
- the top-up (``--incremental K``): K more packages from another seed (other PMCIDs) are added to
  the sources and a fresh ``mmrare build`` process runs: its wall as a share of the full build, and
  checks that only the new cases were worked on and got rows.

Across the N values: wall per case, peak RSS and the warehouse's size on disk per N, their slopes (a
least-squares line) and their ratios between consecutive N, with the flat-memory guards (peak RSS at
the largest N <= 1.25x the one before and <= 4 GB; wall per case <= 1.15x; the top-up <= 3% of the
full build) and a plot of RSS and wall per case against N beside the JSON.

Prefect: by default every build talks to one long-lived ``prefect server start`` (its own
PREFECT_HOME in the bench folder, ``PREFECT_API_URL`` given to the builds), as a user topping up
repeatedly would run it; its CPU is not counted in the builds'. ``--prefect-server ephemeral`` lets
each build start its own server, as a bare ``mmrare build`` does.

Run from the repository (JSON is printed and written to ``bench/e2e-<date>.json``)::

    .venv/bin/python bench/e2e.py --n 200 --n 2000 [--incremental 20] [--workers 2]
        [--executor threads|dask] [--prefect-server long-lived|ephemeral] [--keep DIR]
        [--chunk-cases K] [--warehouse-memory-mb M]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
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
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
ORDO = REPO.parent / "shared" / "ordo" / "ORDO_en_4.2.owl.gz"
BIN = Path(sys.executable).parent
PMCID_TABLES = ("articles", "sections", "sentences", "figures", "cases", "case_diagnoses", "qa_items")


class Server(NamedTuple):
    """A running Prefect server: its process (sampled into the builds' RSS) and its API address."""

    pid: int
    url: str


def clean_env(server: Server | None = None) -> dict[str, str]:
    """This environment without PREFECT_* settings, and the address of ``server`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PREFECT_API_URL": server.url} if server else env


@contextlib.contextmanager
def prefect_server(home: Path) -> Iterator[Server]:
    """``prefect server start`` on a free 127.0.0.1 port, with its own PREFECT_HOME."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home.mkdir(parents=True, exist_ok=True)
    env = {**clean_env(), "PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, deadline = f"http://127.0.0.1:{port}/api", time.monotonic() + 120
    try:
        while not healthy(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("prefect server did not become healthy within 120 s")
            time.sleep(0.5)
        yield Server(proc.pid, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def tree_rss_mb(roots: list[int]) -> float:
    """Summed RSS of ``roots`` and all their descendants, now."""
    total = 0
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in (root, *root.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
    return total / 2**20


def run(cmd: list[str], log: Path, server: Server | None = None) -> dict[str, float]:
    """Run ``cmd`` to its end, output to ``log``: wall, CPU of its whole (reaped) process tree, and the
    peak summed RSS of that tree and ``server``'s, sampled every 0.2 s."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, peak = time.perf_counter(), 0.0
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=clean_env(server))
        while True:
            peak = max(peak, tree_rss_mb([proc.pid, *([server.pid] if server else [])]))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
                break
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:3])} failed ({proc.returncode}):\n{log.read_text()[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "tree_peak_rss_mb": round(peak, 1)}


def write_config(
    path: Path, workspace: Path, cache: Path, dirs: list[Path], build: dict[str, int] | None = None
) -> Path:
    local = ", ".join(f'"{d}"' for d in dirs)
    chunks = "[build]\n" + "".join(f"{k} = {v}\n" for k, v in build.items()) if build else ""
    path.write_text(
        f'workspace = "{workspace}"\ncache = "{cache}"\n[sources]\nlocal_dirs = [{local}]\n'
        f'[selection]\nallow_synthetic = true\n[ontology]\nordo_path = "{ORDO}"\n{chunks}'
    )
    return path


def build_settings(args: argparse.Namespace) -> dict[str, int]:
    """The ``[build]`` settings given on the command line (the rest are mmrare's defaults)."""
    given = {"chunk_cases": args.chunk_cases, "warehouse_memory_mb": args.warehouse_memory_mb}
    return {k: v for k, v in given.items() if v is not None}


def synth(out: Path, n: int, seed: int, root: Path) -> float:
    """``mmrare synth`` into ``out`` (ORDO cached apart from the build's); seconds."""
    config = write_config(root / "synth.toml", root / "synth-ws", root / "synth-ws" / "cache", [])
    cmd = [str(BIN / "mmrare"), "synth", "--n", str(n), "--out", str(out), "--seed", str(seed),
           "--config", str(config), "--no-progress"]
    return run(cmd, root / f"synth-{out.name}.log")["wall_s"]


def build(config: Path, args: argparse.Namespace, server: Server | None, log: Path) -> dict[str, Any]:
    """``mmrare build`` in a fresh process: its wall, CPU and tree RSS, and its run record's stages."""
    cmd = [str(BIN / "mmrare"), "build", "--config", str(config), "--no-progress",
           "--workers", str(args.workers), "--executor", args.executor]
    figures: dict[str, Any] = run(cmd, log, server)
    status, record = query(config, "SELECT status, counts FROM runs ORDER BY started_at DESC LIMIT 1")[0]
    if status != "completed":
        raise SystemExit(f"{config}: the build's run record says {status}")
    counts = json.loads(record)
    total = counts["stages"].pop("total")["perf"]
    figures["flow_wall_s"] = total["wall_s"]
    figures["outside_flow_s"] = round(figures["wall_s"] - total["wall_s"], 2)  # start-up, teardown
    figures["build_process_peak_rss_mb"] = total["peak_rss_mb"]
    figures["stages"] = {name: stage.get("perf") for name, stage in counts["stages"].items()}
    figures["counts"] = {name: {k: v for k, v in stage.items() if k != "perf"}
                         for name, stage in counts["stages"].items()}
    figures["rows_added"] = counts["rows_added"]
    return figures


def query(config: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from mmrare.config import load_config
    from mmrare.warehouse.db import connect

    with contextlib.closing(connect(load_config(config).warehouse_path, read_only=True)) as con:
        return con.execute(sql, params or []).fetchall()


def cache_keys(cache: Path) -> set[bytes]:
    """Every key in the embedding cache (sha256(model digest + NUL + text), see embedding/cache.py)."""
    keys: set[bytes] = set()
    for path in (cache / "embeddings").glob("*/shards/*/keys.npy"):
        keys.update(bytes(k) for k in np.load(path))
    return keys


def candidate_texts(config: Path) -> set[str]:
    """Texts the build may have embedded: case sentences, item contexts (whole and split as leakage
    control splits them) and options, descriptor texts, and the labels of ORDO's answerable concepts."""
    from mmrare.config import load_config
    from mmrare.leakage.segments import split_sentences
    from mmrare.ontology.linking.fallback import fallback_corpus
    from mmrare.ontology.store import load_ordo

    texts = {r[0] for r in query(config, "SELECT text FROM sentences")}
    for context, options in query(config, "SELECT context, options FROM qa_items"):
        texts.update(context[s:e] for s, e in split_sentences(context))
        texts.add(context)
        texts.update(json.loads(options))
    for (descriptor,) in query(config, "SELECT descriptor FROM leakage_descriptors"):
        texts.update(strings(json.loads(descriptor)))
    cfg = load_config(config)
    texts.update(fallback_corpus(load_ordo(ORDO, cfg.cache_path / "ordo"), synonyms=False)[1])
    return texts


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def encoder_rate(config: Path, cache: Path, sample_size: int, seed: int, passes: int = 3) -> dict[str, Any]:
    """The bare encoder's texts/s on a random sample of the texts the build embedded (fastest pass)."""
    from mmrare.embedding import load_encoder
    from mmrare.embedding.cache import key_digest

    encoder = load_encoder()
    keys = cache_keys(cache)
    embedded = sorted(t for t in candidate_texts(config) if key_digest(encoder.model_sha256, t) in keys)
    sample = random.Random(seed).sample(embedded, min(sample_size, len(embedded)))
    encoder.encode(sample[:64])  # warm-up
    seconds = []
    for _ in range(passes):
        started = time.perf_counter()
        encoder.encode(sample)
        seconds.append(time.perf_counter() - started)
    rate = len(sample) / min(seconds)
    return {
        "sentences_embedded": len(keys),
        "identified": len(embedded),
        "sample": len(sample),
        "mean_chars": round(sum(map(len, sample)) / max(1, len(sample)), 1),
        "threads": encoder.threads,
        "passes_sentences_per_s": [round(len(sample) / s, 1) for s in seconds],
        "sentences_per_s": round(rate, 1),
    }


def pmcid_rows(config: Path, pmcids: list[str]) -> dict[str, int]:
    sql = "SELECT count(*) FROM {} WHERE pmcid IN (SELECT unnest(?))"
    return {t: query(config, sql.format(t), [pmcids])[0][0] for t in PMCID_TABLES}


def pmcids_of(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.iterdir() if p.is_dir() and p.name.startswith("PMC"))


def topup(root: Path, full: dict[str, Any], args: argparse.Namespace, server: Server | None,
          corpus: Path) -> dict[str, Any]:
    """Add ``--incremental`` packages to the built workspace and build again in a fresh process."""
    config, extra, old = root / "mmrare.toml", root / "corpus-extra", pmcids_of(corpus)
    before = pmcid_rows(config, old)
    synth_s = synth(extra, args.incremental, args.seed + 1, root)
    write_config(config, root / "ws", root / "cache", [corpus, extra], build_settings(args))
    again = build(config, args, server, root / "build-topup.log")
    new, counts = pmcids_of(extra), again["counts"]
    new_rows = pmcid_rows(config, new)
    work = {
        "curated": counts["curate"]["processed"], "already_done": counts["curate"]["skipped_done"],
        "new_cases": counts["curate"].get("case", 0), "linked": counts["link"]["processed"],
        "drafted": counts["draft"]["processed"], "items_decided": counts["leakage"]["decided"],
        "new_items": new_rows["qa_items"],
    }
    only_new = (work["curated"] == len(new) and work["already_done"] == len(old)
                and work["linked"] == work["drafted"] == work["new_cases"]
                and work["items_decided"] == work["new_items"])
    return {
        "added": len(new),
        "synth_s": synth_s,
        "wall_s": again["wall_s"],
        "share_of_full_build": round(again["wall_s"] / full["wall_s"], 4),
        "flow_wall_s": again["flow_wall_s"],
        "outside_flow_s": again["outside_flow_s"],
        "tree_peak_rss_mb": again["tree_peak_rss_mb"],
        "stages": again["stages"],
        "work_done": work,
        "only_new_work": only_new,
        "old_cases_rows_unchanged": pmcid_rows(config, old) == before,
        "new_cases_rows": new_rows,
        "rows_added_are_new_cases_rows": all(again["rows_added"].get(t, 0) == n for t, n in new_rows.items()),
        "rows_added": again["rows_added"],
    }


def bench_one(root: Path, n: int, args: argparse.Namespace, server: Server | None) -> dict[str, Any]:
    corpus = root / "corpus"
    synth_s = synth(corpus, n, args.seed, root)
    config = write_config(root / "mmrare.toml", root / "ws", root / "cache", [corpus], build_settings(args))
    full = build(config, args, server, root / "build.log")
    full["warehouse_mb"] = round((root / "ws" / "warehouse.duckdb").stat().st_size / 2**20, 1)
    encoder = encoder_rate(config, root / "cache", args.encoder_sample, args.seed)
    limit = encoder["sentences_embedded"] / encoder["sentences_per_s"]
    result: dict[str, Any] = {
        "n": n,
        "synth_s": synth_s,
        "build": full,
        "sentences_embedded": encoder["sentences_embedded"],
        "encoder": encoder,
        "encoder_bound_s": round(limit, 2),
        "ratio": round(full["wall_s"] / limit, 3),
        "wall_per_case_s": round(full["wall_s"] / n, 4),
    }
    if args.incremental:
        result["incremental"] = topup(root, full, args, server, corpus)
    return result


def scaling(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Wall per case, peak RSS and warehouse size at each N; the least-squares slope of each over N,
    and the ratio of each between consecutive N (what the flat-memory targets are stated in)."""
    ns = [float(r["n"]) for r in runs]
    series = {
        "wall_per_case_s": [r["wall_per_case_s"] for r in runs],
        "peak_rss_mb": [r["build"]["tree_peak_rss_mb"] for r in runs],
        "warehouse_mb": [r["build"].get("warehouse_mb", 0.0) for r in runs],
    }
    out: dict[str, Any] = {name: dict(zip([r["n"] for r in runs], values, strict=True))
                           for name, values in series.items()}
    if len(set(ns)) >= 2:
        for name, values in series.items():
            out[f"{name}_slope_per_1000_cases"] = round(float(np.polyfit(ns, values, 1)[0]) * 1000, 5)
        out["between_consecutive_n"] = [
            {"from_n": a["n"], "to_n": b["n"],
             **{f"{name}_ratio": round(values[i + 1] / values[i], 3) if values[i] else None
                for name, values in series.items()}}
            for i, (a, b) in enumerate(itertools.pairwise(runs))
        ]
    return out


def plot(runs: list[dict[str, Any]], out: Path) -> Path:
    """Peak RSS and wall per case against N, side by side: what "memory stays flat" looks like."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["n"] for r in runs]
    fig, (rss, wall) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    rss.plot(ns, [r["build"]["tree_peak_rss_mb"] / 1024 for r in runs], marker="o")
    rss.set(xlabel="cases (N)", ylabel="peak RSS of the build's process tree (GB)", ylim=(0, None))
    wall.plot(ns, [r["wall_per_case_s"] for r in runs], marker="o", color="tab:orange")
    wall.set(xlabel="cases (N)", ylabel="build wall per case (s)", ylim=(0, None))
    for ax in (rss, wall):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.grid(alpha=0.3)
    fig.suptitle("mmrare build against corpus size (bench/e2e.py)")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def guards(runs: list[dict[str, Any]]) -> dict[str, bool]:
    big = runs[-1]
    out = {"ratio_le_1.5": big["ratio"] <= 1.5}
    if len(runs) >= 2:
        small = runs[-2]
        rss_small, rss_big = small["build"]["tree_peak_rss_mb"], big["build"]["tree_peak_rss_mb"]
        out["peak_rss_le_1.25x"] = rss_big <= 1.25 * rss_small
        out["peak_rss_le_4gb"] = rss_big <= 4096
        out["wall_per_case_le_1.15x"] = big["wall_per_case_s"] <= 1.15 * small["wall_per_case_s"]
    if "incremental" in big:
        inc = big["incremental"]
        out["incremental_only_new_work"] = (inc["only_new_work"] and inc["old_cases_rows_unchanged"]
                                            and inc["rows_added_are_new_cases_rows"])
        out["incremental_le_3pct"] = inc["share_of_full_build"] <= 0.03
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="cases (repeatable; default 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", default="threads", choices=("threads", "dask"))
    parser.add_argument("--incremental", type=int, default=20, help="packages added afterwards (0: skip)")
    parser.add_argument("--encoder-sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep corpora, workspaces and logs under this folder")
    parser.add_argument("--prefect-server", default="long-lived", choices=("long-lived", "ephemeral"),
                        help="one Prefect server for all builds (default), or one per build")
    parser.add_argument("--chunk-cases", type=int, help="the builds' [build] chunk_cases")
    parser.add_argument("--warehouse-memory-mb", type=int, help="the builds' [build] warehouse_memory_mb")
    parser.add_argument("--out", type=Path, help="JSON (default: bench/e2e-<date>.json); plot beside")
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith("MMRARE_")]:
        del os.environ[name]  # the bench's configs alone decide, for the builds and for its own reads
    started = datetime.now().astimezone()
    machine = {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
               "python": platform.python_version(), "platform": platform.platform(),
               "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}
    report: dict[str, Any] = {"bench": "e2e", "started": started.isoformat(timespec="seconds"),
                              "machine": machine, "workers": args.workers, "executor": args.executor,
                              "prefect_server": args.prefect_server, "runs": []}
    base = args.keep or Path(tempfile.mkdtemp(prefix="mmrare-e2e-"))
    try:
        with contextlib.ExitStack() as stack:
            server = None
            if args.prefect_server == "long-lived":
                server = stack.enter_context(prefect_server(base / "prefect-home"))
            for n in sorted(args.n or [200]):
                root = base / f"n{n}"
                shutil.rmtree(root, ignore_errors=True)
                root.mkdir(parents=True)
                result = bench_one(root, n, args, server)
                report["runs"].append(result)
                print(f"n={n}: build {result['build']['wall_s']} s, ratio {result['ratio']}", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report["scaling"] = scaling(report["runs"])
    report["guards"] = guards(report["runs"])
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(report, indent=2)
    out = args.out or REPO / "bench" / f"e2e-{started:%Y-%m-%d-%H%M}.json"
    out.write_text(text + "\n")
    if len(report["runs"]) >= 2:
        plot(report["runs"], out.with_suffix(".png"))
    print(text)


if __name__ == "__main__":
    main()
