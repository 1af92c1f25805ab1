"""The SQL of each stage, one module per stage: plain functions over a connection returning rows."""
