"""Ontology stage: filled in by its own issue."""
