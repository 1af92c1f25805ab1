"""Warehouse stage: the DuckDB file, its migrations, and the single writer that loads stage output."""
