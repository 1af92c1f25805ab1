"""Evaluation stage: run models on a release and score their predictions, reading only release files.

Nothing here imports another stage package: the release directory (``docs/release-format.md``) is the
whole contract, so scoring works on a machine with no warehouse and no ORDO file.
"""
