"""Errors a review action can raise; each says what the annotator (or the operator) should do next.

They map one to one onto HTTP answers in the web app (403, 404, 409, 422) and onto one-line CLI errors.
"""

from __future__ import annotations

from mmrare.errors import MmrareError


class ReviewError(MmrareError):
    """Base class of review failures; the message is shown to the annotator as is."""

    status_code = 400


class NotAllowed(ReviewError):
    """The annotator may not do this (inactive, not an adjudicator, unknown token)."""

    status_code = 403


class NotFound(ReviewError):
    """No such item, version or image in the warehouse."""

    status_code = 404


class Conflict(ReviewError):
    """The action clashes with stored state (already reviewed, enough reviews, stale form)."""

    status_code = 409


class InvalidInput(ReviewError):
    """A form or import value is unusable; the message names the field."""

    status_code = 422
