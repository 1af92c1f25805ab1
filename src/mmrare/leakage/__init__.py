"""Leakage control: detectors score, a policy decides, and every decision is stored with its reason.

Plain typed input from the orchestrator (the stage imports no other stage): a
:class:`~mmrare.items.QAItem`, an :class:`AnswerDescriptor` (label, synonyms, definition,
abbreviations, xref names, causal genes, figure captions) and the raw sentence texts, wrapped in a
:class:`LeakageInput`; plus an :class:`Embedder` (normally the shared embedding cache).

Typical run::

    detection = detect(inputs, cache)                       # one embed call for the whole batch
    decided = decide(inputs, detection.scores, policy, config.thresholds)
    prov = Provenance.for_run(cache, policy, ordo_version=..., config_hash=config.config_hash)
    rows = [s.row(prov) for s in detection.scores]          # leakage_scores
    rows = [d.row(prov) for d in decided.decisions]         # leakage_decisions
    rows = [c.row(prov) for c in decided.contexts]          # leakage_contexts
    report = dataset_checks(items, cache, policy, contexts={c.item_id: c.masked_context ...})

A threshold change re-decides from stored scores (``apply_policy`` / ``decide`` / ``dry_run``) and never
embeds again. Modules: descriptors, segments, textnorm, textnames, lexical, semantic, shortcuts, detect,
policy, masking, dataset, explain, freetext, audit, provenance. Importing this package does not load spaCy
or torch.
"""

from mmrare.leakage.audit import ContextRecord
from mmrare.leakage.dataset import (
    BlindReport,
    BlindResult,
    DatasetFlag,
    DatasetReport,
    blind_solve,
    dataset_checks,
    duplicate_images,
    hamming_matrix,
    near_duplicate_contexts,
    same_case_pairs,
)
from mmrare.leakage.descriptors import AnswerDescriptor, FigureText, LeakageInput
from mmrare.leakage.detect import Detection, detect
from mmrare.leakage.explain import ItemChange, describe_decision, dry_run, explain_item
from mmrare.leakage.freetext import MaskResult, mask_free_text
from mmrare.leakage.masking import Decided, decide, masked_context, postcondition_hits
from mmrare.leakage.policy import (
    DEFAULT_POLICY,
    KEPT_REASON,
    MASK_TOKEN,
    Action,
    LeakageDecision,
    Policy,
    PolicyRule,
    apply_policy,
    item_status,
    with_threshold,
)
from mmrare.leakage.provenance import Provenance
from mmrare.leakage.scores import DETECTOR_VERSION, DETECTORS, LeakageScore
from mmrare.leakage.semantic import Embedder, EncoderEmbedder, as_embedder

__all__ = [
    "DEFAULT_POLICY",
    "DETECTORS",
    "DETECTOR_VERSION",
    "KEPT_REASON",
    "MASK_TOKEN",
    "Action",
    "AnswerDescriptor",
    "BlindReport",
    "BlindResult",
    "ContextRecord",
    "DatasetFlag",
    "DatasetReport",
    "Decided",
    "Detection",
    "Embedder",
    "EncoderEmbedder",
    "FigureText",
    "ItemChange",
    "LeakageDecision",
    "LeakageInput",
    "LeakageScore",
    "MaskResult",
    "Policy",
    "PolicyRule",
    "Provenance",
    "apply_policy",
    "as_embedder",
    "blind_solve",
    "dataset_checks",
    "decide",
    "describe_decision",
    "detect",
    "dry_run",
    "duplicate_images",
    "explain_item",
    "hamming_matrix",
    "item_status",
    "mask_free_text",
    "masked_context",
    "near_duplicate_contexts",
    "postcondition_hits",
    "same_case_pairs",
    "with_threshold",
]
