"""flows.logs: Prefect's console handler leaves a FatalError to the CLI's one line, and only that."""

from __future__ import annotations

import logging
import sys

from prefect.logging.handlers import PrefectConsoleHandler

from mmrare.errors import FatalError
from mmrare.flows.logs import quiet_expected_errors_on_console


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "failed", None, info)


def test_the_console_drops_fatal_errors_only_and_is_filtered_once() -> None:
    quiet_expected_errors_on_console()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert handlers  # Prefect's logging is set up, with its console handler on the root logger
    counts = [len(h.filters) for h in handlers]
    quiet_expected_errors_on_console()
    assert [len(h.filters) for h in handlers] == counts  # added once
    for handler in handlers:
        assert not handler.filter(_record(FatalError("x.owl: ORDO file not found")))
        assert handler.filter(_record(ValueError("a bug")))  # still logged with its traceback
        plain = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "no exception", None, None)
        assert handler.filter(plain)
