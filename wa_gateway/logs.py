"""Logging: JSON lines by default (``LOG_FORMAT=text`` for humans), secrets scrubbed from every record."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from typing import Any, Final, TextIO

import orjson
from aiohttp.http_exceptions import HttpProcessingError

from wa_gateway import vocabulary as v

REDACTED: Final = "[redacted]"
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)
# Where a record keeps its extra keys; a leading underscore keeps it out of the logged fields.
_EXTRA_KEYS: Final = "_extra_keys"


def extra_keys(record: logging.LogRecord) -> tuple[str, ...]:
    """The attributes ``extra=`` put on a record, worked out once per record (the scrubber and the
    formatter both need them, for every access line)."""
    fields = vars(record)
    keys: tuple[str, ...] | None = fields.get(_EXTRA_KEYS)
    if keys is None:
        keys = tuple(k for k in fields if k not in _STANDARD_ATTRS and not k.startswith("_"))
        fields[_EXTRA_KEYS] = keys
    return keys


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = vars(record)
    return {key: fields[key] for key in extra_keys(record)}


def exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback, as the scrubber left it when it has already formatted (and cleaned) it."""
    if record.exc_text:
        return record.exc_text
    if record.exc_info:
        return formatter.formatException(record.exc_info)
    return None


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # With one access line per request this is the hottest formatter in the process: the date part
        # of the timestamp is formatted once per second, not once per line (BENCHMARKS.md, "Findings").
        self._second = -1
        self._second_text = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(extra_fields(record))
        exc = exception_text(self, record)
        if exc:
            entry["exc"] = exc
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        extras = " ".join(f"{k}={v}" for k, v in extra_fields(record).items())
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        exc = exception_text(self, record)
        if exc:
            line = f"{line}\n{exc}"
        return line


class SecretScrubber(logging.Filter):
    """Replace configured secrets wherever they appear in a record's message or fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Short values would scrub innocent text; real keys are long (``init`` writes 64 hex chars).
        self._secrets = tuple(s for s in secrets if len(s) >= 4)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, dict):
            return {k: self._scrub_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub_value(v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self._scrub(record.getMessage())
        record.args = None
        fields = vars(record)
        for key in extra_keys(record):
            value = fields[key]
            if not isinstance(value, int | float | bool | None):
                fields[key] = self._scrub_value(value)
        # A traceback can quote the secret too (an exception message, a local's repr): format it here,
        # clean it, and let the formatters print this text instead of formatting the exception again.
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True


_TRACEBACKS: Final = logging.Formatter()


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot even parse (a scanner, a probe with a NUL in a header) at error
    level with a full traceback; it has already answered 400, so one warning line says all there is."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and getattr(exc, "code", None) == 400:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "malformed HTTP request rejected", None
            record.error = exc.message.strip().splitlines()[0] if exc.message else type(exc).__name__
            record.exc_info = record.exc_text = None
        return True


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SecretScrubber(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(v.LOG_LEVELS.get(level, logging.INFO))
    # No formatter of ours prints thread or process names, and collecting them is a good part of what a
    # LogRecord costs (logging HOWTO, "Optimization"): an access line per request makes it count.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's own access logger would duplicate ours (the access-log middleware).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server_log = logging.getLogger("aiohttp.server")
    for old_filter in [f for f in server_log.filters if isinstance(f, MalformedRequestFilter)]:
        server_log.removeFilter(old_filter)
    server_log.addFilter(MalformedRequestFilter())
