"""Tests of text -> ORPHA concept linking (a package so the tests can share ``linking_slice``)."""
