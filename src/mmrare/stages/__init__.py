"""The build's stages as declarations: what each reads, its work, and the tables it writes.

A per-record stage (:class:`~mmrare.stages.base.Stage`) names its tables, finds its pending records
(reading the warehouse through :mod:`mmrare.warehouse.queries` and leaving out work already done
under the same content, versions and settings), and turns one record into rows with a plain
``run``: no Prefect, no SQL, no scheduling. One runner (:mod:`mmrare.flows.runner`) does the rest
for every stage: chunks, tasks on threads or Dask, shards, progress and timing. Leakage control
decides over the whole dataset at once, so it is a batch (:mod:`mmrare.stages.leakage`).

This is the one layer that joins the stage packages (curation, ontology, annotations, leakage) to
each other and to the warehouse; the packages themselves never import a sibling.
"""
