"""``mmrare audit item`` and ``mmrare leakage apply | mask``: explain, preview and run leakage control.

Audits read stored rows only (no model, no ORDO). ``leakage mask`` runs the detectors on any text
for a given answer, for checks outside the warehouse. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mmrare.commands.common import ConfigOption, console, err_console
from mmrare.commands.common import fail as _fail
from mmrare.commands.common import load as _config
from mmrare.config import Config
from mmrare.errors import FatalError

audit_app = typer.Typer(no_args_is_help=True, help="Explain what the pipeline decided about an item.")
leakage_app = typer.Typer(no_args_is_help=True, help="Leakage control: preview threshold changes, mask text.")






def _connect(cfg: Config):
    from mmrare.warehouse.db import connect

    try:
        return connect(cfg.warehouse_path, read_only=True)
    except FatalError as exc:
        raise _fail(str(exc)) from exc


@audit_app.command("item")
def audit_item(
    item_id: Annotated[str, typer.Argument(help="qa_items.item_id")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every leakage decision about one item, in plain words, with the versions that made it."""
    from mmrare.leakage import explain_item
    from mmrare.stages.audit import item_audit

    cfg = _config(config)
    con = _connect(cfg)
    try:
        audit = item_audit(con, item_id)
    finally:
        con.close()
    if audit is None:
        raise _fail(f"no item {item_id!r} in {cfg.warehouse_path}")
    lines = explain_item(audit.item, audit.scores, audit.decisions, thresholds=cfg.thresholds)
    ctx = audit.context
    provenance = (
        {k: ctx[k] for k in ("model_id", "model_sha256", "ordo_version", "config_hash", "policy_version",
                             "code_version")}
        | {"created_at": str(ctx["created_at"])}
        if ctx else {}
    )
    flags = []
    for f in audit.flags:
        other = f", with {f['other_item_id']}" if f["other_item_id"] else ""
        flags.append(f"{f['flag']} (score {f['score']:.3f}{other})")
    if as_json:
        print(json.dumps({
            "item_id": item_id, "track": audit.item.track, "pmcid": audit.item.pmcid,
            "status": ctx["status"] if ctx else "not_decided", "explanation": lines,
            "masked_context": ctx["masked_context"] if ctx else None, "dataset_flags": audit.flags,
            "provenance": provenance, "descriptor": audit.descriptor,
        }, indent=2, ensure_ascii=False, default=str))
        return
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    for flag in flags:
        console.print(f"Dataset flag: {flag}.", highlight=False)
    if provenance:
        decided_by = ", ".join(f"{k}={v}" for k, v in provenance.items())
        console.print(f"Decided by {decided_by}", highlight=False, soft_wrap=True)


@leakage_app.command("apply")
def leakage_apply(
    track: Annotated[str, typer.Option(help="diagnosis | examination | treatment | cross_image")],
    threshold: Annotated[float, typer.Option(help="new semantic (cosine) threshold for the track")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="only list what would change")
    ] = True,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the items whose outcome changes under a new threshold (from stored scores; no embedding)."""
    from mmrare.leakage import dry_run as preview
    from mmrare.leakage import with_threshold
    from mmrare.stages.audit import stored_inputs, stored_scores_for

    cfg = _config(config)
    try:
        new = with_threshold(cfg.thresholds, track, threshold)
    except FatalError as exc:
        raise _fail(str(exc)) from exc
    con = _connect(cfg)
    try:
        inputs = stored_inputs(con, track)
        scores = stored_scores_for(con, inputs)
    finally:
        con.close()
    changes = preview(scores, new, current_thresholds=cfg.thresholds, inputs=inputs, track=track)
    current = cfg.thresholds.semantic.get(track)
    if as_json:
        out = {
            "track": track, "threshold_before": current, "threshold_after": threshold,
            "items_checked": len(inputs), "changes": [c.as_dict() for c in changes],
        }
        print(json.dumps(out, indent=2))
    else:
        console.print(
            f"{track}: threshold {current} -> {threshold}: {len(changes)} of {len(inputs)} items change"
        )
        for change in changes:
            console.print("  " + change.describe(), highlight=False, soft_wrap=True)
    if not dry_run:
        env = f"MMRARE_THRESHOLDS__SEMANTIC__{track.upper()}={threshold}"
        console.print(
            f"To apply: set [thresholds.semantic] {track} = {threshold} in mmrare.toml (or {env}) and run "
            "`mmrare build`: decisions are re-made from the stored scores, nothing is embedded again, and "
            "the new decisions are stored beside the old ones under the new config hash.",
            highlight=False, soft_wrap=True,
        )


@leakage_app.command("mask")
def leakage_mask(
    text_file: Annotated[Path, typer.Option("--text-file", help="UTF-8 text; '-' reads stdin")],
    answer: Annotated[str, typer.Option(help="ORPHA:n for diagnosis, or the answer text (a treatment)")],
    track: Annotated[str, typer.Option(help="diagnosis | examination | treatment | cross_image")] = (
        "diagnosis"
    ),
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Mask any free text for a given answer, as the leakage stage would mask an item's context."""
    from mmrare.embedding import EmbeddingCache, load_encoder
    from mmrare.leakage import AnswerDescriptor, mask_free_text
    from mmrare.ontology.model import parse_code

    cfg = _config(config)
    try:
        text = sys.stdin.read() if str(text_file) == "-" else text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{text_file}: cannot read text ({exc})") from exc
    code = parse_code(answer)
    try:
        descriptor = _ordo_descriptor(cfg, code, text) if code else AnswerDescriptor(label=answer)
        cache = EmbeddingCache(cfg.cache_path / "embeddings", load_encoder())
        result = mask_free_text(text, descriptor, track, cache, cfg.thresholds)
    except FatalError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(result.to_json(indent=2))
        return
    console.print(result.masked_text, highlight=False, soft_wrap=True)
    err_console.print(
        f"{result.status}: {len(result.masks)} spans masked, {len(result.dropped)} sentences dropped "
        f"({result.policy_version}, {result.model_id})",
        highlight=False,
    )


def _ordo_descriptor(cfg: Config, code: str, text: str):
    """Label, synonyms, definition, related and short names, short forms the text defines for it,
    causal genes it names."""
    from mmrare.leakage import AnswerDescriptor
    from mmrare.ontology.answer_names import diagnosis_names
    from mmrare.ontology.linking import Linker, link_text
    from mmrare.ontology.store import load_ordo
    from mmrare.stages.descriptors import named_genes

    index = load_ordo(cfg.resolve(cfg.ontology.ordo_path), cfg.cache_path / "ordo")
    concept = index.get(code)
    if concept is None:
        raise FatalError(f"{code} is not in ORDO {index.release.version}")
    family = {concept.code} | index.ancestors(concept.code) | index.descendants(concept.code)
    linker = Linker.build(index, cfg.cache_path / "linker")
    abbreviations = sorted(
        {m.text for m in link_text(linker, text) if m.code in family and str(m.match_kind) == "abbreviation"}
    )
    symbols, gene_names = named_genes(index, concept.code, text)
    names = diagnosis_names(index, concept.code)
    return AnswerDescriptor(
        label=concept.label, synonyms=concept.synonyms, definition=concept.definition,
        abbreviations=tuple(abbreviations), gene_symbols=symbols, gene_names=gene_names, code=concept.code,
        related_names=names.related, short_names=names.short,
    )
