"""Annotations stage: benchmark item drafts (see :mod:`mmrare.annotations.drafting`)."""
