"""Dataset-level leakage: duplicates across items and cases, and items answerable from text alone.

- ``same_case_track``: two items of one track drafted from the same case (one may answer the other);
- ``near_duplicate_context``: contexts of two different cases nearly identical by embedding (the same
  patient published twice, or a copied case description);
- ``duplicate_image``: images of two different cases within ``k`` bits of perceptual hash;
- ``text_answerable``: a blind solver — cosine between the context and each option, no images — picks
  the gold option with a margin of at least ``Policy.blind_margin``.

Like span detectors, these store a score on every row they write (the blind solver on every item),
and ``flagged`` is the policy's verdict at write time; a different margin re-decides from the rows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmrare.embedding import VectorIndex
from mmrare.embedding.index import Hit
from mmrare.items import TRACKS, QAItem
from mmrare.leakage.policy import DEFAULT_POLICY, Policy
from mmrare.leakage.provenance import Provenance
from mmrare.leakage.scores import JSON_SORTED
from mmrare.leakage.segments import split_sentences
from mmrare.leakage.semantic import Embedder, TextBatch, as_embedder

FLAGS = ("same_case_track", "near_duplicate_context", "duplicate_image", "text_answerable")
_NEIGHBOURS = 20
# below the threshold by more than a stored cosine's rounding (6 decimals): such a hit never flags
_BELOW = 1e-6


@dataclass(frozen=True, slots=True)
class DatasetItem:
    """What the dataset checks read of an item that is only checked *against* (not itself solved):
    a top-up loads these for the thousands of earlier items instead of full :class:`QAItem` drafts."""

    item_id: str
    track: str
    question_type: str
    pmcid: str
    context: str
    graphic_ids: tuple[str, ...]  # of the images shown, in order (all the image check reads)


CheckedItem = QAItem | DatasetItem


def graphic_ids(item: CheckedItem) -> tuple[str, ...]:
    """The graphics an item shows, whichever form it comes in."""
    if isinstance(item, DatasetItem):
        return item.graphic_ids
    return tuple(ref.graphic_id for ref in item.images)


@dataclass(frozen=True, slots=True)
class DatasetFlag:
    """One dataset-level finding about an item (``other_item_id`` / ``ref`` name what it collides with)."""

    item_id: str
    track: str
    flag: str
    other_item_id: str | None
    ref: str | None
    score: float
    threshold: float | None
    flagged: bool
    detail: Mapping[str, Any] = field(default_factory=dict)

    def flag_id(self, provenance: Provenance) -> str:
        key = json.dumps(
            [
                self.item_id,
                self.flag,
                self.other_item_id,
                self.ref,
                provenance.model_sha256,
                provenance.policy_sha256,
                provenance.config_hash,
            ]
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

    def row(self, provenance: Provenance) -> dict[str, Any]:
        """The ``dataset_flags`` row."""
        return {
            "flag_id": self.flag_id(provenance),
            "item_id": self.item_id,
            "track": self.track,
            "flag": self.flag,
            "other_item_id": self.other_item_id,
            "ref": self.ref,
            "score": float(self.score),
            "threshold": self.threshold,
            "flagged": self.flagged,
            "detail": JSON_SORTED.encode(dict(self.detail)),
            **provenance.columns(),
        }


# ----------------------------------------------------------------------------- same case


def same_case_pairs(items: Sequence[CheckedItem]) -> list[DatasetFlag]:
    """A flag on both items of every pair drafted for the same track from the same case."""
    groups: dict[tuple[str, str], list[CheckedItem]] = {}
    for item in items:
        groups.setdefault((item.pmcid, item.track), []).append(item)
    out = []
    for (pmcid, _), group in sorted(groups.items()):
        for a, b in itertools.combinations(sorted(group, key=lambda i: i.item_id), 2):
            for this, other in ((a, b), (b, a)):
                out.append(
                    DatasetFlag(
                        this.item_id,
                        this.track,
                        "same_case_track",
                        other.item_id,
                        pmcid,
                        1.0,
                        1.0,
                        True,
                        {"question_types": [this.question_type, other.question_type]},
                    )
                )
    return out


# ----------------------------------------------------------------------------- images


def _hash_words(hashes: Sequence[str]) -> np.ndarray:
    """Hex hashes of equal length as an ``(n, words)`` uint64 array."""
    width = max(len(h) for h in hashes)
    if any(len(h) != width for h in hashes):
        raise ValueError("perceptual hashes must all have the same length")
    words = -(-width // 16)
    padded = [h.rjust(words * 16, "0") for h in hashes]
    return np.array(
        [[int(p[16 * w : 16 * (w + 1)], 16) for w in range(words)] for p in padded], dtype=np.uint64
    )


def _distances(block: np.ndarray, array: np.ndarray) -> np.ndarray:
    out = np.zeros((block.shape[0], array.shape[0]), dtype=np.int32)
    for w in range(array.shape[1]):
        out += np.bitwise_count(block[:, w][:, None] ^ array[:, w][None, :]).astype(np.int32)
    return out


def hamming_matrix(hashes: Sequence[str]) -> np.ndarray:
    """Pairwise bit distances of hex perceptual hashes of equal length (for small sets and tests)."""
    if not hashes:
        return np.zeros((0, 0), dtype=np.int32)
    array = _hash_words(hashes)
    return _distances(array, array)


def close_pairs(hashes: Sequence[str], max_distance: int, *, block: int = 256) -> list[tuple[int, int, int]]:
    """``(i, j, distance)`` for ``i < j`` within ``max_distance`` bits, in row blocks so memory stays flat."""
    return close_pairs_of(hashes, range(len(hashes)), max_distance, block=block)


def close_pairs_of(
    hashes: Sequence[str], rows: Collection[int], max_distance: int, *, block: int = 256
) -> list[tuple[int, int, int]]:
    """What :func:`close_pairs` returns, restricted to pairs with an end in ``rows`` (same order):
    only those rows are compared with all hashes, so a top-up's few graphics cost a few passes."""
    if len(hashes) < 2 or not rows:
        return []
    array = _hash_words(hashes)
    wanted = sorted(set(rows))
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(wanted), block):
        part = wanted[start : start + block]
        distances = _distances(array[part], array)
        hit_rows, cols = np.nonzero(distances <= max_distance)
        for r, c in zip(hit_rows.tolist(), cols.tolist(), strict=True):
            i = part[r]
            if i != c:
                found[(min(i, c), max(i, c))] = int(distances[r, c])
    return [(i, j, d) for (i, j), d in sorted(found.items())]


def duplicate_images(
    items: Sequence[CheckedItem],
    phashes: Mapping[str, str | None],
    max_distance: int,
    focus: Collection[str] | None = None,
) -> list[DatasetFlag]:
    """Items showing an image within ``max_distance`` bits of an image of another case.

    ``phashes`` maps graphic ids to hex phash strings (``graphics.phash``); graphics without one are
    skipped. Pairs up to twice the distance are stored unflagged, so a looser ``k`` can be re-decided.
    With ``focus`` only flags whose item or other item is a focus item are returned, and only the
    focus items' graphics are compared with all (the flags are those of the full run, filtered).
    """
    owners: dict[str, set[tuple[str, str]]] = {}  # graphic -> {(pmcid, item_id)}
    for item in items:
        for graphic in graphic_ids(item):
            if phashes.get(graphic):
                owners.setdefault(graphic, set()).add((item.pmcid, item.item_id))
    graphics = sorted(owners)
    if len(graphics) < 2:
        return []
    track_of = {item.item_id: item.track for item in items}
    hashes = [str(phashes[g]).lower() for g in graphics]
    wanted = None if focus is None else set(focus)
    if wanted is None:
        pairs = close_pairs(hashes, 2 * max_distance)
    else:
        # a kept flag has a focus item among the owners of one end (its item, or the other end's
        # first item): pairs without a focus graphic at either end can only give dropped flags
        mine = {g for item in items if item.item_id in wanted for g in graphic_ids(item)}
        pairs = close_pairs_of(hashes, [n for n, g in enumerate(graphics) if g in mine], 2 * max_distance)
    ends = {graphics[n] for i, j, _ in pairs for n in (i, j)}  # owners read only where a pair is
    pmcid_of = {g: {p for p, _ in owners[g]} for g in ends}
    items_of = {g: sorted(i for _, i in owners[g]) for g in ends}
    out = []
    for i, j, distance in pairs:
        for a, b in ((graphics[i], graphics[j]), (graphics[j], graphics[i])):
            if pmcid_of[a] & pmcid_of[b]:
                continue
            for item_id in items_of[a]:
                out.append(
                    DatasetFlag(
                        item_id,
                        track_of[item_id],
                        "duplicate_image",
                        items_of[b][0],
                        f"{a}|{b}",
                        float(distance),
                        float(max_distance),
                        distance <= max_distance,
                        {"graphic": a, "other_graphic": b, "other_pmcids": sorted(pmcid_of[b])},
                    )
                )
    if wanted is not None:
        out = [f for f in out if f.item_id in wanted or f.other_item_id in wanted]
    return out


# ----------------------------------------------------------------------------- context vectors


# Stored context vectors are keyed with this: bump it whenever a context's vector for the same text
# may change (context_pieces, the sentence splitter in leakage.segments, _unit_mean).
CONTEXT_VECTOR_VERSION = "context-vector/1"


def context_vectors(
    contexts: Mapping[str, str], embedder: Embedder, *, batch: TextBatch | None = None
) -> dict[str, np.ndarray]:
    """One unit vector per context: the normalised mean of its sentences' vectors.

    Sentence means avoid the encoder's 256-word-piece truncation of a long context, and they reuse the
    cached sentence vectors of the detection step.
    """
    own = batch is None
    batch = batch or TextBatch()
    tickets = {
        item_id: batch.add(context_pieces(text))
        for item_id, text in contexts.items()
    }
    if own:
        batch.embed(as_embedder(embedder))
    return {item_id: _unit_mean(batch.rows(t)) for item_id, t in tickets.items()}


def context_pieces(text: str) -> list[str]:
    """The texts a context vector is the mean of: its sentences (the whole text, or one space for an
    empty one, when it has none)."""
    return [text[s:e] for s, e in split_sentences(text)] or [text or " "]


def _unit_mean(rows: np.ndarray) -> np.ndarray:
    mean = rows.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def near_duplicate_contexts(
    items: Sequence[CheckedItem],
    vectors: Mapping[str, np.ndarray],
    threshold: float,
    focus: Collection[str] | None = None,
) -> list[DatasetFlag]:
    """Each item's nearest context from another case (stored with its cosine), flagged at ``threshold``.

    Further neighbours from other cases are stored too when they reach the threshold. With ``focus``
    (the items new to this run) only those items are searched among all, and every other item is
    searched among the focus items for flagged pairs: an all-against-all search per top-up would make
    adding 20 cases to 2,000 cost as much as checking all of them.
    """
    with_vec = [i for i in items if i.item_id in vectors]
    if len(with_vec) < 2:
        return []
    if focus is None:
        return _nearest(with_vec, with_vec, vectors, threshold, first_always=True)
    wanted = set(focus)
    new = [i for i in with_vec if i.item_id in wanted]
    old = [i for i in with_vec if i.item_id not in wanted]
    if not new:
        return []
    out = _nearest(new, with_vec, vectors, threshold, first_always=True)
    if old:
        out += _nearest(old, new, vectors, threshold, first_always=False)
    return out


def _nearest(
    queries: Sequence[CheckedItem],
    corpus: Sequence[CheckedItem],
    vectors: Mapping[str, np.ndarray],
    threshold: float,
    *,
    first_always: bool,
) -> list[DatasetFlag]:
    """Flags for ``queries`` from their nearest ``corpus`` contexts of other cases (the nearest one
    stored whatever its cosine when ``first_always``; further ones only at the threshold)."""
    index = VectorIndex([i.item_id for i in corpus], np.stack([vectors[i.item_id] for i in corpus]))
    by_id = {i.item_id: i for i in corpus}
    matrix = np.stack([vectors[i.item_id] for i in queries])
    k = min(len(corpus), _NEIGHBOURS)
    found_by_query: Iterable[tuple[CheckedItem, Iterable[tuple[str, float]]]]
    if first_always:
        # the raw rows, read lazily: a query rarely looks past its first neighbours, and a Hit per
        # query and neighbour was most of the dataset checks' cost on a large corpus
        scores, ids = index.search_arrays(matrix, k)
        keys = [i.item_id for i in corpus]
        found_by_query = (
            (item, ((keys[n], score) for n, score in zip(row_ids, row_scores, strict=True) if n >= 0))
            for item, row_ids, row_scores in zip(queries, ids.tolist(), scores.tolist(), strict=True)
        )
    else:
        found_by_query = (
            (item, ((hit.key, hit.score) for hit in hits))
            for item, hits in _reaching(index, queries, matrix, k, threshold)
        )
    out = []
    for item, found in found_by_query:
        first = first_always
        for key, score in found:
            other = by_id[key]
            if other.pmcid == item.pmcid:
                continue
            cosine = round(float(score), 6)
            if first or cosine >= threshold:
                out.append(
                    DatasetFlag(
                        item.item_id,
                        item.track,
                        "near_duplicate_context",
                        other.item_id,
                        other.pmcid,
                        cosine,
                        threshold,
                        cosine >= threshold,
                        {"other_track": other.track},
                    )
                )
            first = False
            if cosine < threshold:
                break
    return out


def _reaching(
    index: VectorIndex, queries: Sequence[CheckedItem], matrix: np.ndarray, k: int, threshold: float
) -> list[tuple[CheckedItem, list[Hit]]]:
    """``(query, hits)`` as :meth:`VectorIndex.search` gives them, for the queries whose best hit
    can reach ``threshold`` (only those can flag when the nearest is not stored unconditionally).

    A top-up searches every earlier item among the new ones: 18k queries x 20 :class:`Hit` objects
    were most of its dataset checks, and one in a thousand rows is needed. The search itself must
    stay one faiss call over *all* queries: faiss and BLAS take other code paths for other batch
    sizes, and a subset's cosines came out one unit apart in the 6th decimal (other flags than a
    full search). So the raw arrays are read (:meth:`VectorIndex.search_arrays`, the same faiss call
    ``search`` makes), and hits are built for the rows that can flag.
    """
    scores, ids = index.search_arrays(matrix, k)
    if scores.shape[1] == 0:  # an empty index
        return []
    rows = np.nonzero(scores[:, 0] >= threshold - _BELOW)[0]
    found = index.hits(scores[rows], ids[rows])
    return [(queries[row], hits) for row, hits in zip(rows.tolist(), found, strict=True)]


# ----------------------------------------------------------------------------- blind solver


@dataclass(frozen=True, slots=True)
class BlindResult:
    """The blind solver's answer to one item: which option it picked and by how much."""

    item_id: str
    track: str
    predicted_index: int
    answer_index: int
    cosines: tuple[float, ...]
    margin: float  # cos(gold) - max cos(distractor): > 0 when solved
    flagged: bool

    @property
    def correct(self) -> bool:
        return self.predicted_index == self.answer_index


@dataclass(frozen=True)
class BlindReport:
    """Per-item blind answers and, per track, accuracy and the text-answerable rate."""

    results: list[BlindResult]
    margin: float

    def by_track(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for track in TRACKS:
            mine = [r for r in self.results if r.track == track]
            if not mine:
                continue
            n = len(mine)
            correct = sum(r.correct for r in mine)
            flagged = sum(r.flagged for r in mine)
            out[track] = {
                "items": n,
                "correct": correct,
                "accuracy": round(correct / n, 4),
                "text_answerable": flagged,
                "text_answerable_rate": round(flagged / n, 4),
            }
        return out

    def flags(self) -> list[DatasetFlag]:
        return [
            DatasetFlag(
                r.item_id,
                r.track,
                "text_answerable",
                None,
                None,
                r.margin,
                self.margin,
                r.flagged,
                {
                    "predicted_index": r.predicted_index,
                    "answer_index": r.answer_index,
                    "cosines": list(r.cosines),
                },
            )
            for r in self.results
        ]


def blind_solve(
    items: Sequence[QAItem],
    contexts: Mapping[str, str] | None,
    embedder: Embedder,
    margin: float = DEFAULT_POLICY.blind_margin,
    *,
    batch: TextBatch | None = None,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> BlindReport:
    """Answer every item from text similarity alone: context (masked, if given) against each option.

    ``contexts`` maps item ids to the context to use (the masked context from ``leakage_contexts`` for
    the released view; the item's own context when None or missing).
    """
    embedder = as_embedder(embedder)
    own = batch is None
    batch = batch or TextBatch()
    texts = {i.item_id: (contexts or {}).get(i.item_id, i.context) for i in items}
    if vectors is None:
        sentence_tickets = {
            item_id: batch.add(context_pieces(t))
            for item_id, t in texts.items()
        }
    option_tickets = {i.item_id: batch.add(list(i.options)) for i in items}
    if own:
        batch.embed(embedder)
    if vectors is None:
        vectors = {item_id: _unit_mean(batch.rows(t)) for item_id, t in sentence_tickets.items()}
    results = []
    for item in items:
        cosines = batch.rows(option_tickets[item.item_id]) @ vectors[item.item_id]
        predicted = int(np.argmax(cosines))
        others = np.delete(cosines, item.answer_index)
        gap = float(cosines[item.answer_index] - others.max())
        results.append(
            BlindResult(
                item.item_id,
                item.track,
                predicted,
                item.answer_index,
                tuple(round(float(c), 6) for c in cosines),
                round(gap, 6),
                gap >= margin,
            )
        )
    return BlindReport(results, margin)


# ----------------------------------------------------------------------------- all together


@dataclass(frozen=True)
class DatasetReport:
    """All dataset-level flags of a run, and the blind solver's per-track summary."""

    flags: list[DatasetFlag]
    blind: BlindReport
    # context vectors computed by this run (not the known ones passed in), by item id: a caller may
    # keep them for the next run's ``known_vectors``
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for flag in self.flags:
            if flag.flagged:
                counts[flag.flag] = counts.get(flag.flag, 0) + 1
        return {"flagged": counts, "blind_solver": self.blind.by_track(), "blind_margin": self.blind.margin}


def dataset_checks(
    items: Sequence[CheckedItem],
    embedder: Embedder,
    policy: Policy = DEFAULT_POLICY,
    *,
    contexts: Mapping[str, str] | None = None,
    phashes: Mapping[str, str | None] | None = None,
    focus: Collection[str] | None = None,
    known_vectors: Mapping[str, np.ndarray] | None = None,
) -> DatasetReport:
    """Every dataset-level check over ``items``, with one ``embed`` call for all contexts and options.

    ``focus``: ids of the items new since the last check (the others were checked before and their
    flags are stored). Only flags that involve a focus item are produced, the blind solver answers
    only focus items, and near-duplicates are searched focus-against-all (see
    :func:`near_duplicate_contexts`), so a top-up costs in proportion to what it adds. The other
    items may then be :class:`DatasetItem` records (only focus items need the full draft).

    ``known_vectors``: context vectors of earlier runs by item id (what :func:`context_vectors`
    gives for the same context and model, see :attr:`DatasetReport.vectors`); those contexts are
    not split and looked up again. Ignored for items whose context ``contexts`` replaces.
    """
    texts = {i.item_id: (contexts or {}).get(i.item_id, i.context) for i in items}
    known = {k: v for k, v in (known_vectors or {}).items() if k in texts and k not in (contexts or {})}
    batch = TextBatch()
    sentence_tickets = {
        item_id: batch.add(context_pieces(t)) for item_id, t in texts.items() if item_id not in known
    }
    wanted = None if focus is None else set(focus)
    solved = [i for i in items if isinstance(i, QAItem) and (wanted is None or i.item_id in wanted)]
    if len(solved) != sum(1 for i in items if wanted is None or i.item_id in wanted):
        raise TypeError("items the blind solver answers (all, or the focus ones) must be QAItem drafts")
    for item in solved:
        batch.add(list(item.options))
    if wanted is None:
        same_case = same_case_pairs(items)
    else:
        cases = {i.pmcid for i in solved}
        same_case = same_case_pairs([i for i in items if i.pmcid in cases])
    duplicates = duplicate_images(items, phashes or {}, policy.image_max_hamming, focus=wanted)
    embedder = as_embedder(embedder)
    batch.embed(embedder)
    fresh = {item_id: _unit_mean(batch.rows(t)) for item_id, t in sentence_tickets.items()}
    vectors = {i.item_id: known[i.item_id] if i.item_id in known else fresh[i.item_id] for i in items}
    blind = blind_solve(solved, texts, embedder, policy.blind_margin, batch=batch, vectors=vectors)
    near = near_duplicate_contexts(items, vectors, policy.near_duplicate_cosine, focus=wanted)
    return DatasetReport([*same_case, *near, *duplicates, *blind.flags()], blind, fresh)
