"""Typer sub-modules for the ``mmrare`` command, one per stage, registered in ``mmrare.cli``."""
