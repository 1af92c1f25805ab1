"""Tests of the ORDO ontology store (a package so the tests can share ``ordo_slice``)."""
