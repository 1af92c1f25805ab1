"""Leakage-control tests (a package so the tests can share ``leakage_cases``)."""
