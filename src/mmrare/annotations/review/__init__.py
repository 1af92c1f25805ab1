"""Annotator review: two independent reviews per item, adjudication of disagreements, agreement
statistics and Label Studio exchange, with a small server-rendered web app on top.

Plain modules do the work and take a :class:`~mmrare.annotations.review.store.ReviewStore` (one
DuckDB connection + the write lock; see its docstring for the concurrency rule):

- ``annotators``: accounts and tokens (sha256 only); ``queue``: what to review next, leases;
- ``submit``: a verdict in one transaction; ``versions``: version 0 = the draft, edits add versions;
- ``adjudication``: deciding disagreements, reopening decided items; ``agreement``: the kappas;
- ``itemview`` / ``highlight`` / ``flagview``: what the item page shows; ``labelstudio``: exchange;
- ``web``: the FastAPI app (imported only by ``mmrare review serve`` and tests).

Every statement they run is a function of :mod:`mmrare.warehouse.queries.review`; this package holds
no SQL. The final outcome of an item is defined in SQL (``review_outcomes`` / ``accepted_items`` in
migration 006, with reopenings in 011), so release builds and this package read one rule. Importing
this package does not import FastAPI.
"""
