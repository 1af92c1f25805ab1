"""What kind of image a figure is and which body region it shows, from its caption and citing text.

A cross-image distractor from another case must not be ruled out by anatomy or modality alone ("a
colon biopsy finding" among options about a carotid paraganglioma). So every figure gets a profile:
its modality (figures.toml: CT, MRI, histology, endoscopy, ...) and its body region (the body system
of systems.toml its text names most), and distractors from other cases come from figures with the
same profile. The caption decides first; the sentences citing only this figure fill in a part the
caption leaves open, and the case's own text gives the region when the figure's text names none.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.text import strip_figure_refs
from mmrare.annotations.drafting.vocab import figure_vocabulary, system_weights


@dataclass(frozen=True, slots=True)
class Profile:
    """A figure's modality and body region ("" when unknown)."""

    modality: str
    region: str

    @property
    def category(self) -> str:
        """How the distractor pool stores it: "modality|region"."""
        return f"{self.modality}|{self.region}"

    @classmethod
    def parse(cls, category: str | None) -> Profile:
        modality, _, region = (category or "").partition("|")
        return cls(modality, region)


@functools.cache
def _modalities() -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    table = figure_vocabulary().modalities
    return tuple(
        (name, tuple(re.compile(p, re.IGNORECASE) for p in patterns)) for name, patterns in table.items()
    )


def modality_of(text: str) -> str:
    """The modality with most pattern matches in ``text`` (earlier entry on a tie), or ""."""
    best, most = "", 0
    for name, patterns in _modalities():
        n = sum(len(p.findall(text)) for p in patterns)
        if n > most:
            best, most = name, n
    return best


def region_of(text: str) -> str:
    """The body region ``text`` names most (figures.toml ``regions`` order on a tie), or ""."""
    regions = figure_vocabulary().regions
    weights = system_weights(text)
    scored = [(weights.get(r, 0), -i, r) for i, r in enumerate(regions)]
    top = max(scored)
    return top[2] if top[0] > 0 else ""


def figure_profile(view: CaseView, figure_id: str, case_region: str = "") -> Profile:
    """The profile of one figure of ``view`` (``case_region``: the region of the whole case)."""
    figure = view.figure_by_id[figure_id]
    caption = strip_figure_refs(" ".join(t for t in (figure.caption_title, figure.caption_text) if t))
    citing = " ".join(
        view.by_id[sid].text for sid in view.citing.get(figure_id, []) if view.cited.get(sid) == [figure_id]
    )
    modality = modality_of(caption) or modality_of(citing)
    region = region_of(caption) or region_of(citing) or case_region
    return Profile(modality, region)


def case_region(view: CaseView) -> str:
    """The body region the case presentation talks about most."""
    return region_of(" ".join(s.text for s in view.case_sentences))
