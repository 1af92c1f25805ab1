"""Gold-label quality on labelled case texts: case -> ORPHA mapping and diagnosis-track masking.

    PYTHONPATH=src .venv/bin/python bench/quality.py ../shared/devset/cases.jsonl [--half even|odd]
                                                     [--no-mask] [--detail] [--min-confidence X]

Each JSONL record has ``id``, ``title``, ``text``, ``gold_orpha`` (null for a common-condition case),
``acceptable_orpha``, ``is_rare`` and ``diagnosis_surface_forms`` (see ``../shared/devset/README.md``).

Mapping runs what ``mmrare ontology map --text-file F --title T`` runs
(:func:`mmrare.ontology.linking.map_text`). Masking runs what ``mmrare leakage mask --track
diagnosis --answer <gold>`` runs (the command's own descriptor builder, then
:func:`mmrare.leakage.mask_free_text` with the packaged encoder and an embedding cache under
``--workspace``). Printed:

- ``top1``: rare cases whose answer is the gold code or an acceptable one, over all rare cases;
- ``precision``: correct answers over all answers (an answer for a common case is wrong);
- ``coverage``: rare cases answered, over all rare cases;
- ``common_mapped_rare``: common cases given a rare-disease code, over all common cases;
- ``forms_left``: rare cases whose masked text still holds a diagnosis surface form (the dev set's
  matching rule: longer than 4 characters case-insensitive substring, else exact-case whole word);
- ``removed_fraction``: mean share of the text's characters masked or dropped.

``--half even|odd`` keeps the records whose numeric id is even or odd (tune on one, report the
other); a run over all records also reports each half (``even``, ``odd``). ``--min-confidence``
treats answers below that confidence as abstentions, for the precision-coverage curve
(``--curve`` prints it). With ``--detail`` every miss is printed, one line each, before the
summary; the summary is the last thing printed, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CURVE_POINTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


@dataclass
class CaseResult:
    """One case's mapping and masking outcome."""

    case_id: str
    is_rare: bool
    gold: str | None
    accepted: frozenset[str]
    code: str | None
    label: str | None
    confidence: float
    reason: str
    alternatives: list[tuple[str, str, float]] = field(default_factory=list)
    forms_left: list[str] = field(default_factory=list)
    removed_fraction: float | None = None
    mask_status: str | None = None

    def answered(self, min_confidence: float = 0.0) -> bool:
        return self.code is not None and self.confidence >= min_confidence

    def correct(self, min_confidence: float = 0.0) -> bool:
        return self.answered(min_confidence) and self.is_rare and self.code in self.accepted


def read_cases(path: Path, half: str) -> list[dict[str, Any]]:
    """The records of ``path``; ``half`` "even" / "odd" keeps those whose numeric id has that parity."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if half != "all" and (_number(str(case.get("id", ""))) % 2 == 0) != (half == "even"):
            continue
        cases.append(case)
    return cases


def _number(case_id: str) -> int:
    digits = re.sub(r"\D", "", case_id)
    return int(digits) if digits else 0


def form_left(form: str, text: str) -> bool:
    """The dev set's matching rule for a surface form in a text."""
    if len(form) > 4:
        return form.casefold() in text.casefold()
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", text) is not None


def summary(results: Sequence[CaseResult], min_confidence: float = 0.0) -> dict[str, Any]:
    rare = [r for r in results if r.is_rare]
    common = [r for r in results if not r.is_rare]
    answered = [r for r in results if r.answered(min_confidence)]
    correct = [r for r in rare if r.correct(min_confidence)]
    masked = [r for r in rare if r.removed_fraction is not None]
    out: dict[str, Any] = {
        "cases": len(results),
        "rare": len(rare),
        "common": len(common),
        "top1": _ratio(len(correct), len(rare)),
        "precision": _ratio(len(correct), len(answered)),
        "coverage": _ratio(sum(r.answered(min_confidence) for r in rare), len(rare)),
        "common_mapped_rare": _ratio(sum(r.answered(min_confidence) for r in common), len(common)),
        "misses": len(rare) - len(correct),
        "abstentions": sum(not r.answered(min_confidence) for r in rare),
        "min_confidence": min_confidence,
    }
    if masked:
        out["masked_cases"] = len(masked)
        out["forms_left"] = _ratio(sum(bool(r.forms_left) for r in masked), len(masked))
        out["removed_fraction"] = round(sum(r.removed_fraction or 0.0 for r in masked) / len(masked), 4)
        out["mask_dropped_items"] = sum(r.mask_status != "kept" for r in masked)
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def map_cases(cases: Iterable[dict[str, Any]], linker: Any) -> list[CaseResult]:
    from mmrare.ontology.linking import map_text

    out = []
    for case in cases:
        found = map_text(linker, case["text"], case.get("title") or None)
        diag = found.diagnosis
        gold = case.get("gold_orpha")
        accepted = frozenset([gold, *case.get("acceptable_orpha", ())]) - {None}
        out.append(
            CaseResult(
                case_id=case["id"],
                is_rare=bool(case.get("is_rare")),
                gold=gold,
                accepted=accepted,
                code=diag.code,
                label=diag.label,
                confidence=diag.confidence,
                reason=diag.reason,
                alternatives=list(diag.alternatives),
            )
        )
    return out


def mask_cases(cases: Sequence[dict[str, Any]], results: list[CaseResult], cfg: Any) -> None:
    """Mask each rare case's text for its gold answer, as ``mmrare leakage mask`` does."""
    from mmrare.commands.leakage import _ordo_descriptor
    from mmrare.embedding import EmbeddingCache, load_encoder
    from mmrare.leakage import mask_free_text

    _load_once()
    extra = _related_names_hook()
    cache = EmbeddingCache(cfg.cache_path / "embeddings", load_encoder())
    for case, result in zip(cases, results, strict=True):
        if not result.is_rare or not result.gold:
            continue
        descriptor = _ordo_descriptor(cfg, result.gold, case["text"])
        if extra is not None:
            descriptor = extra(cfg, descriptor, case["text"])
        masked = mask_free_text(case["text"], descriptor, "diagnosis", cache, cfg.thresholds)
        forms = case.get("diagnosis_surface_forms", ())
        result.forms_left = [f for f in forms if form_left(f, masked.masked_text)]
        result.removed_fraction = masked.removed_fraction
        result.mask_status = masked.status


def _load_once() -> None:
    """The command loads ORDO and builds the linker for each text it masks; a bench of a hundred
    texts keeps the first ones (same inputs, same objects) instead of reloading them per text."""
    import functools

    from mmrare.ontology import store
    from mmrare.ontology.linking import Linker

    store.load_ordo = functools.cache(store.load_ordo)
    build = Linker.build.__func__  # type: ignore[attr-defined]
    built: dict[Any, Any] = {}

    def build_once(cls: Any, index: Any, cache_dir: Any = None) -> Any:
        key = (id(index), str(cache_dir))
        if key not in built:
            built[key] = build(cls, index, cache_dir)
        return built[key]

    Linker.build = classmethod(build_once)  # type: ignore[method-assign, assignment]


def _related_names_hook() -> Any:
    """What the descriptor builder of ``leakage mask`` (and of the build's leakage inputs) is to add:
    the names of the answer's ORDO relatives and its standard short names
    (:func:`mmrare.ontology.answer_names.diagnosis_names`). Applied here until those builders do it."""
    from dataclasses import replace

    from mmrare.leakage import AnswerDescriptor
    from mmrare.ontology.answer_names import diagnosis_names
    from mmrare.ontology.store import load_ordo

    if "related_names" not in AnswerDescriptor.__dataclass_fields__:
        return None
    indexes: dict[str, Any] = {}

    def extend(cfg: Any, descriptor: Any, text: str) -> Any:
        if "index" not in indexes:
            indexes["index"] = load_ordo(cfg.resolve(cfg.ontology.ordo_path), cfg.cache_path / "ordo")
        if descriptor.related_names or descriptor.short_names or not descriptor.code:
            return descriptor
        names = diagnosis_names(indexes["index"], descriptor.code)
        return replace(descriptor, related_names=names.related, short_names=names.short)

    return extend


def detail_line(result: CaseResult) -> str | None:
    parts = []
    if result.is_rare and not result.correct():
        alts = "; ".join(f"{c} {lbl} ({s:.2f})" for c, lbl, s in result.alternatives[:3])
        got = f"{result.code} {result.label} ({result.confidence:.2f})" if result.code else "none"
        parts.append(f"map miss: gold {result.gold} got {got} [{result.reason}] alternatives: {alts or '-'}")
    if not result.is_rare and result.code is not None:
        parts.append(f"common mapped rare: {result.code} {result.label} ({result.confidence:.2f})")
    if result.forms_left:
        parts.append(f"forms left: {result.forms_left}")
    return f"{result.case_id}: " + " | ".join(parts) if parts else None


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path, nargs="?", default=SHARED / "devset" / "cases.jsonl")
    parser.add_argument("--half", choices=("all", "even", "odd"), default="all")
    parser.add_argument("--no-mask", action="store_true", help="mapping only (no encoder)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (a quick look)")
    parser.add_argument("--detail", action="store_true", help="one line per miss before the summary")
    parser.add_argument("--min-confidence", type=float, default=0.0)
    parser.add_argument("--curve", action="store_true", help="precision / coverage per confidence cut")
    parser.add_argument(
        "--linker-min-confidence", type=float, default=None,
        help="the linker's own abstention threshold for this run (default: MIN_CONFIDENCE); 0 with "
        "--curve shows the whole trade-off",
    )
    parser.add_argument("--config", type=Path, default=ROOT / "mmrare.toml")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/mmrare-quality"))
    args = parser.parse_args(argv)
    os.environ.setdefault("MMRARE_WORKSPACE", str(args.workspace))

    from mmrare.config import load_config
    from mmrare.ontology.linking import LINKER_VERSION, Linker
    from mmrare.ontology.store import load_ordo

    if args.linker_min_confidence is not None:
        from mmrare.ontology.linking import diagnosis

        diagnosis.MIN_CONFIDENCE = args.linker_min_confidence
    cfg = load_config(args.config)
    cases = read_cases(args.cases, args.half)
    if args.limit:
        cases = cases[: args.limit]
    index = load_ordo(cfg.resolve(cfg.ontology.ordo_path), cfg.cache_path / "ordo")
    linker = Linker.build(index, cfg.cache_path / "linker")
    started = time.perf_counter()
    results = map_cases(cases, linker)
    map_s = time.perf_counter() - started
    if not args.no_mask:
        mask_cases(cases, results, cfg)
    if args.detail:
        for result in results:
            line = detail_line(result)
            if line:
                print(line)
    out = summary(results, args.min_confidence)
    out |= {"half": args.half, "linker_version": LINKER_VERSION, "map_s": round(map_s, 2)}
    if args.half == "all":
        for half in ("even", "odd"):
            mine = [r for r in results if (_number(r.case_id) % 2 == 0) == (half == "even")]
            out[half] = summary(mine, args.min_confidence)
    if args.curve:
        out["curve"] = [
            {k: summary(results, cut)[k] for k in ("min_confidence", "top1", "precision", "coverage",
                                                   "common_mapped_rare")}
            for cut in CURVE_POINTS
        ]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

