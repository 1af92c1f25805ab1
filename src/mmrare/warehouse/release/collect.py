"""Gather everything a release ships from the warehouse: items, images, licences, flags, provenance.

Only accepted items at their final version enter (``accepted_items``); articles and items that fail
a build-time check become :class:`Exclusion` records with a reason; the ORDO file and embedding
model named in the manifest are the ones the stored rows name, and a release that would mix two of
either is refused (its numbers could not be reproduced from one set of versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from mmrare.errors import FatalError
from mmrare.items import QAItem
from mmrare.versions import code_version
from mmrare.warehouse.release import reads
from mmrare.warehouse.release.checks import article_exclusion, image_problem
from mmrare.warehouse.release.flags import FlagSummary, unresolved_flags
from mmrare.warehouse.release.images import release_name
from mmrare.warehouse.release.neighbours import Hierarchy
from mmrare.warehouse.release.records import (
    ArticleInfo,
    Exclusion,
    ImageSource,
    ReleaseImage,
    ReleaseItem,
    ReleaseProvenance,
)
from mmrare.warehouse.release.settings import ReleaseSettings


@dataclass
class Collected:
    """The release content before splitting: items, exclusions, articles, image files, provenance."""

    items: list[ReleaseItem]
    exclusions: list[Exclusion]
    articles: dict[str, ArticleInfo]
    images: dict[str, ImageSource]  # release file name -> source graphic
    provenance: ReleaseProvenance
    n_accepted: int
    flags: FlagSummary = field(default_factory=FlagSummary)


def collect(
    con: duckdb.DuckDBPyConnection,
    settings: ReleaseSettings,
    *,
    config_hash: str,
    semantic_thresholds: Mapping[str, float],
) -> Collected:
    """Read and check the release content (no files are written here)."""
    accepted, malformed = reads.accepted_items(con)
    exclusions = list(malformed)
    kept = [a.item for a in accepted]
    versions = {a.item.item_id: a.version for a in accepted}
    per_case: dict[str, int] = {}
    for item in kept:
        per_case[item.pmcid] = per_case.get(item.pmcid, 0) + 1
    pmcids = sorted(per_case)
    arts = reads.articles(con, pmcids)
    rejected = reads.retraction_rejects(con, pmcids)
    excluded_cases = set()
    for pmcid in pmcids:
        ex = article_exclusion(
            pmcid, arts.get(pmcid), settings.policy, settings.retracted, rejected, per_case[pmcid]
        )
        if ex:
            exclusions.append(ex)
            excluded_cases.add(pmcid)
    kept = [i for i in kept if i.pmcid not in excluded_cases]

    sources = reads.image_sources(con, sorted({s.graphic_id for r in kept for s in r.images}))
    hashed: dict[str, str] = {}
    shippable = []
    for item in kept:
        problems = [
            p for s in item.images if (p := image_problem(s.graphic_id, sources.get(s.graphic_id), hashed))
        ]
        if problems:
            exclusions.append(Exclusion(item.pmcid, item.item_id, "image_unavailable", "; ".join(problems)))
        else:
            shippable.append(item)

    ordo, hierarchy = _ordo(con, shippable)
    ids = [r.item_id for r in shippable]
    contexts = reads.latest_contexts(con, ids)
    dataset_flags = reads.latest_dataset_flags(con, ids)
    flags = unresolved_flags(
        ids,
        contexts,
        dataset_flags,
        {r.item_id: {s.graphic_id for s in r.images} for r in shippable},
        {r.item_id: r.pmcid for r in shippable},
    )
    images: dict[str, ImageSource] = {}
    items = []
    for item in shippable:
        shown = []
        for slot in item.images:
            src = sources[slot.graphic_id]
            assert src.sha256 is not None
            name = release_name(src.sha256, src.format, src.path)
            images[name] = src
            shown.append(
                ReleaseImage(
                    slot.position, slot.marker, name, src.sha256, Path(src.path or "").name, slot.figure_id
                )
            )
        items.append(
            ReleaseItem(
                item=item,
                item_version=versions[item.item_id],
                images=tuple(shown),
                licence=arts[item.pmcid].licence,
                published=arts[item.pmcid].pub_date,
                related_concepts=hierarchy.related(item.orpha_code) if hierarchy else (),
                leakage_flags=flags.by_item.get(item.item_id, ()),
            )
        )
    released = {i.item.pmcid for i in items}
    articles = {
        p: _with_flag(a, settings.policy.is_flagged(a.licence)) for p, a in arts.items() if p in released
    }
    provenance = ReleaseProvenance(
        code_version=code_version(),
        config_hash=config_hash,
        ordo=ordo,
        embedding_model=_embedding_model(contexts.values(), dataset_flags),
        leakage=_leakage(con, ids, contexts, dataset_flags, flags, semantic_thresholds),
    )
    return Collected(
        items=items,
        exclusions=sorted(exclusions, key=Exclusion.sort_key),
        articles=articles,
        images=images,
        provenance=provenance,
        n_accepted=len(accepted) + len(malformed),
        flags=flags,
    )


def _with_flag(article: ArticleInfo, flagged: bool) -> ArticleInfo:
    return replace(article, licence_flagged=flagged)


def _ordo(
    con: duckdb.DuckDBPyConnection, items: list[QAItem]
) -> tuple[dict[str, str] | None, Hierarchy | None]:
    """The one ORDO file the released cases were linked with, and its hierarchy."""
    gold: dict[str, set[str]] = {}
    for item in items:
        gold.setdefault(item.pmcid, set())
        if item.orpha_code:
            gold[item.pmcid].add(item.orpha_code)
    chosen: dict[str, reads.DiagnosisRow] = {}
    for diag in reads.diagnoses(con, sorted(gold)):  # newest first
        current = chosen.get(diag.pmcid)
        if current is None or (current.code not in gold[diag.pmcid] and diag.code in gold[diag.pmcid]):
            chosen[diag.pmcid] = diag
    files = {(d.ordo_sha256, d.ordo_version) for d in chosen.values()}
    if len(files) > 1:
        by_file = {
            f: sorted(p for p, d in chosen.items() if (d.ordo_sha256, d.ordo_version) == f) for f in files
        }
        parts = "; ".join(
            f"ORDO {v} ({s[:12]}…): {', '.join(ps[:3])}" for (s, v), ps in sorted(by_file.items())
        )
        raise FatalError(f"released cases were linked with {len(files)} ORDO files ({parts}); re-link first")
    if not files:
        loaded = reads.ordo_files(con)
        if len(loaded) != 1:
            if any(gold.values()):
                raise FatalError(
                    "no case diagnosis names the ORDO file and the warehouse holds "
                    f"{len(loaded)}; run the link stage first"
                )
            return None, None
        files = set(loaded)
    sha256, version = files.pop()
    tables = reads.ordo_tables(con, sha256)
    if tables is None and any(gold.values()):
        raise FatalError(
            f"ORDO {version} ({sha256[:12]}…) named by case_diagnoses is not loaded in the warehouse"
        )
    return {"version": version, "sha256": sha256}, Hierarchy(tables) if tables else None


def _embedding_model(contexts: Any, dataset_flags: list[reads.DatasetFlagRow]) -> dict[str, str] | None:
    models = {(c.model_id, c.model_sha256) for c in contexts} | {
        (f.model_id, f.model_sha256) for f in dataset_flags
    }
    models = {m for m in models if m[0] or m[1]}
    if len(models) > 1:
        names = ", ".join(f"{m} ({s[:12]}…)" for m, s in sorted(models))
        raise FatalError(
            f"released items were leakage-checked with {len(models)} embedding models ({names}); "
            "re-run leakage control with one model first"
        )
    if not models:
        return None
    model_id, sha256 = models.pop()
    return {"id": model_id, "sha256": sha256}


def _leakage(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    contexts: Mapping[str, reads.ContextInfo],
    dataset_flags: list[reads.DatasetFlagRow],
    flags: FlagSummary,
    semantic_thresholds: Mapping[str, float],
) -> dict[str, Any]:
    """Policies, config hashes and thresholds behind the released items' leakage decisions."""
    decisions: dict[str, dict[str, list[float]]] = {}
    for track, detector, threshold in reads.decision_thresholds(con, ids):
        decisions.setdefault(track, {}).setdefault(detector, []).append(threshold)
    dataset: dict[str, list[float]] = {}
    for f in dataset_flags:
        if f.threshold is not None and f.threshold not in dataset.setdefault(f.flag, []):
            dataset[f.flag].append(f.threshold)
    return {
        "policies": sorted({f"{c.policy_version} {c.policy_sha256}" for c in contexts.values()}),
        "config_hashes": sorted({c.config_hash for c in contexts.values()}),
        "items_without_leakage_context": sum(1 for i in ids if i not in contexts),
        "thresholds": {
            "semantic_config": dict(sorted(semantic_thresholds.items())),
            "decisions": {
                t: {d: sorted(v) for d, v in sorted(x.items())} for t, x in sorted(decisions.items())
            },
            "dataset": {k: sorted(v) for k, v in sorted(dataset.items())},
        },
        "flags_resolved": dict(sorted(flags.resolved.items())),
    }
