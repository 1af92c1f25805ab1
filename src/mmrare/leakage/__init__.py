"""Leakage stage: filled in by its own issue."""
