"""Curation stage: PMC sources, JATS parsing, figure decoding and case selection."""
