"""Logging to standard output as text or JSON lines, filtered by level (journald reads it)."""

from __future__ import annotations

import sys
from typing import TextIO

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    jsonFileLogObserver,
    textFileLogObserver,
)

_LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}


def make_observer(level: str, fmt: str, stream: TextIO = sys.stdout) -> ILogObserver:
    base = jsonFileLogObserver(stream) if fmt == "json" else textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=_LEVELS[level])
    return FilteringLogObserver(base, [predicate])


def start_logging(level: str, fmt: str) -> None:
    globalLogBeginner.beginLoggingTo([make_observer(level, fmt)], redirectStandardIO=False)
