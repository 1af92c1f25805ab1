"""Tests of the synthetic load-test corpus generator (a package so the tests share ``synth_support``)."""
