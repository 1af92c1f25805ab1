"""Cross-image evidence alignment: questions answerable only by relating findings to specific images.

Three question types, for cases with at least two figures with a usable image:

- ``image_for_finding``: "Which image shows <finding>?" -> an image marker;
- ``finding_for_image``: "Which finding is shown in Image k?" -> the finding;
- ``image_finding_mapping``: which pairing of images and findings is right (three or more figures).

Captions are never shown and sentences citing a figure are left out of the context, so the text
alone never says which image is which. Figures with several image files are skipped (their finding
would belong to several markers).

Distractor findings must not be ruled out by anatomy or modality alone: the case's other figures'
findings come first, then findings of other cases' figures with the same modality and body region
(:mod:`~mmrare.annotations.drafting.figure_profile`). A finding from another kind of image is never
offered; an item short of distractors is rejected instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from mmrare.annotations.drafting.base import Draft, TrackRun
from mmrare.annotations.drafting.figure_profile import Profile, case_region, figure_profile
from mmrare.annotations.drafting.findings import Finding, figure_findings, figure_stems, is_distinctive
from mmrare.annotations.drafting.options import selection_key
from mmrare.annotations.drafting.text import containment, stems
from mmrare.items import DistractorNote, DistractorPool, ImageRef, PoolEntry

DISTRACTOR_OVERLAP = 0.34  # a distractor sharing this much with the target figure's text might be true
NEAR_DUPLICATE = 0.6
MAPPING_MAX_IMAGES = 4


def _too_similar(a: str, b: str) -> bool:
    sa, sb = stems(a), stems(b)
    return max(containment(sa, sb), containment(sb, sa)) >= NEAR_DUPLICATE


def _display(text: str) -> str:
    return text[0].upper() + text[1:]


def _inline(text: str) -> str:
    return text if text[:2].isupper() else text[0].lower() + text[1:]


def draft_cross_image(run: TrackRun) -> None:
    view = run.view
    shown = view.figures_with_images()
    if len(shown) < 2:
        run.reject("too_few_images", f"{len(shown)} figure(s) with a usable image, need 2")
        return
    images = view.images()
    marker_of: dict[str, ImageRef] = {}
    for fid in shown:
        refs = [i for i in images if i.figure_id == fid]
        if len(refs) == 1:
            marker_of[fid] = refs[0]
    texts = {fid: figure_stems(view, fid) for fid in shown}
    all_findings = {fid: figure_findings(view, fid) for fid in marker_of}
    best: dict[str, Finding] = {}
    for fid, found in all_findings.items():
        distinctive = [f for f in found if is_distinctive(f, texts)]
        if distinctive:
            best[fid] = distinctive[0]
    if not best:
        run.reject("no_distinctive_finding", "no figure has a finding that singles it out")
        return
    citing = set(view.cited)
    context = [s for s in view.case_sentences if s.sentence_id not in citing and not view.is_framing(s)]

    def draft(**fields: Any) -> Draft:
        """A cross-image draft: the same context and images for every question, no figure references."""
        return Draft(track="cross_image", context=context, images=images, strip_refs=True, **fields)

    def evidence(finding: Finding) -> list[str]:
        if finding.sentence_id:
            return [finding.sentence_id]
        return list(view.citing.get(finding.figure_id, []))

    for fid, finding in best.items():
        if run.full("image_for_finding"):
            break
        marker = marker_of[fid].marker
        others = [i.marker for i in images if i.figure_id != fid]
        others.sort(key=lambda m, fid=fid: selection_key(fid, m))
        run.add(
            draft(
                question_type="image_for_finding",
                question=f"Which image shows {_inline(finding.text)}?",
                answer=marker,
                distractors=others,
                evidence_sentence_ids=evidence(finding),
                evidence_figure_ids=[fid],
                rationale=_rationale(finding, marker),
                ordered_options=True,
                key=f"image_for_finding:{marker}",
                reason="same_case_image",
            )
        )

    region = case_region(view)
    profiles = {fid: figure_profile(view, fid, region) for fid in best}
    pools: dict[str, _Replay] = {}

    for fid, finding in best.items():
        if run.full("finding_for_image"):
            break
        marker = marker_of[fid].marker
        own = texts[fid]
        candidates = [
            DistractorNote(f.text, "same_case", other)
            for other, found in all_findings.items()
            if other != fid
            for f in found
        ]
        # lazily: the options take the first few that pass, and the pool grows with the corpus
        distractors = (
            DistractorNote(_display(c.text), c.reason, c.source)
            for c in itertools.chain(candidates, _alike(run.pool, view.pmcid, profiles[fid], pools))
            if containment(stems(c.text), own) < DISTRACTOR_OVERLAP
        )
        run.add(
            draft(
                question_type="finding_for_image",
                question=f"Which finding is shown in {marker}?",
                answer=_display(finding.text),
                distractors=distractors,
                evidence_sentence_ids=evidence(finding),
                evidence_figure_ids=[fid],
                rationale=_rationale(finding, marker),
                too_similar=_too_similar,
                key=f"finding_for_image:{marker}",
            )
        )

    mapped = [fid for fid in best][:MAPPING_MAX_IMAGES]
    if len(mapped) >= 3 and not run.full("image_finding_mapping"):
        markers = [marker_of[fid].marker for fid in mapped]
        texts_in_order = [_inline(best[fid].text) for fid in mapped]

        def pairing(order: tuple[int, ...]) -> str:
            return "; ".join(f"{m}: {texts_in_order[i]}" for m, i in zip(markers, order, strict=True))

        identity = tuple(range(len(mapped)))
        wrong = [pairing(p) for p in itertools.permutations(identity) if p != identity]
        wrong.sort(key=lambda t: selection_key(view.pmcid, t))
        run.add(
            draft(
                question_type="image_finding_mapping",
                question="Match each image to the finding it shows. Which pairing is correct?",
                answer=pairing(identity),
                distractors=wrong,
                evidence_sentence_ids=[s for fid in mapped for s in evidence(best[fid])],
                evidence_figure_ids=mapped,
                rationale="; ".join(_rationale(best[fid], marker_of[fid].marker) for fid in mapped),
                key="image_finding_mapping",
                reason="same_case_permutation",
            )
        )


class _Replay:
    """An iterator made on first read and replayed from the start on every later read, advancing
    only as far as any reader went: each finding of a case reads the pool's findings from the top,
    the pool holds every other case's (as many as the corpus is large), and the options need a few."""

    def __init__(self, make: Callable[[], Iterator[PoolEntry]]) -> None:
        self._make = make
        self._source: Iterator[PoolEntry] | None = None
        self._seen: list[PoolEntry] = []

    def __iter__(self) -> Iterator[PoolEntry]:
        i = 0
        while True:
            if i < len(self._seen):
                yield self._seen[i]
                i += 1
                continue
            if self._source is None:
                self._source = self._make()
            entry = next(self._source, None)
            if entry is None:
                return
            self._seen.append(entry)


def _alike(
    pool: DistractorPool, pmcid: str, profile: Profile, pools: dict[str, _Replay]
) -> Iterator[DistractorNote]:
    """Findings of other cases' figures of the same modality and region, only as far as read (none
    when either is unknown). ``pools`` keeps each profile's replay for the case's next finding."""
    if not (profile.modality and profile.region):
        return
    where = profile.category
    if where not in pools:
        pools[where] = _Replay(lambda: pool.iter_candidates("finding", pmcid, where))
    for entry in pools[where]:
        yield DistractorNote(entry.text, "same_modality_region", entry.ref or entry.pmcid)


def _rationale(finding: Finding, marker: str) -> str:
    where = f"sentence {finding.sentence_id}" if finding.sentence_id else "its caption (not shown)"
    return f"{marker} is figure {finding.figure_id}; {where} states: {finding.text}."
