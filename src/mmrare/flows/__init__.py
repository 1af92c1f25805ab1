"""Prefect flows: the only code that imports prefect, a thin layer over plain stage functions."""
