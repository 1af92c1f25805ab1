"""Prefect's console output under the CLI: an expected error is said once, as the CLI's one line.

A :class:`~mmrare.errors.FatalError` raised in a flow (a missing ORDO file, an unreadable warehouse)
is bad input or configuration, which ``mmrare`` reports as one red line naming the file and the
reason. Prefect's engine logs the same exception at ERROR with its traceback first: thirty lines on
the console above the one that says what to fix. The console handler drops those records; Prefect's
API handler still stores them, traceback included, with the flow run. Any other exception (a bug)
is still logged in full.
"""

from __future__ import annotations

import logging

from prefect.logging.configuration import ensure_logging_setup
from prefect.logging.handlers import PrefectConsoleHandler

from mmrare.errors import FatalError


class _NoExpectedErrors(logging.Filter):
    """Drops a record whose exception is a :class:`FatalError` (the CLI prints it as one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, FatalError)


def quiet_expected_errors_on_console() -> None:
    """Add the filter to Prefect's console handlers (root and ``prefect`` loggers), once each, after
    Prefect has configured its logging (which it otherwise does on first use, without the filter)."""
    ensure_logging_setup()
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _NoExpectedErrors) for f in handler.filters
            ):
                handler.addFilter(_NoExpectedErrors())
