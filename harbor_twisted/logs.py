"""Logging to standard output as text or JSON lines, filtered by level (journald reads it)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    globalLogBeginner,
    textFileLogObserver,
)
from zope.interface import implementer

_LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}


@implementer(ILogObserver)
class JsonLineObserver:
    """One flat JSON object per line: time, level, logger, message (and a traceback)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        level = event.get("log_level")
        record = {
            "time": time.strftime(
                "%Y-%m-%dT%H:%M:%S", time.gmtime(event.get("log_time", time.time()))
            )
            + "Z",
            "level": level.name if level is not None else "info",
            "logger": event.get("log_namespace", "-"),
            "message": formatEvent(event),
        }
        failure = event.get("log_failure")
        if failure is not None:
            record["traceback"] = failure.getTraceback()
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


def make_observer(level: str, fmt: str, stream: TextIO = sys.stdout) -> ILogObserver:
    base = JsonLineObserver(stream) if fmt == "json" else textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=_LEVELS[level])
    return FilteringLogObserver(base, [predicate])


def start_logging(level: str, fmt: str) -> None:
    globalLogBeginner.beginLoggingTo([make_observer(level, fmt)], redirectStandardIO=False)
