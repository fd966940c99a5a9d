"""The worker's log lines on stderr (one JSON object each) and how the gateway tells them from raw output."""

from __future__ import annotations

import logging
import re
import sys
from typing import Final, NamedTuple, TextIO

import orjson

LOG_LINE_KIND: Final = "engine-log"
# A line longer than this is not one of ours and is cut before it is re-logged.
MAX_LINE_CHARS: Final = 8192
# Phone numbers (and LIDs) as whatsmeow's INFO lines and Go's prints show them: 7 to 15 digits standing
# alone; only the last four stay, as in the gateway's own log lines.
_PHONE_RE: Final = re.compile(r"(?<![0-9A-Za-z])[0-9]{3,11}([0-9]{4})(?![0-9A-Za-z])")
FOREIGN_LOGGERS: Final = ("whatsmeow", "Whatsmeow")


def scrub_phones(text: str) -> str:
    """Mask the phone numbers in a line written by code we do not control."""
    return _PHONE_RE.sub(r"…\1", text)


class WorkerLogLine(NamedTuple):
    level: int
    logger: str
    message: str


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "kind": LOG_LINE_KIND,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_worker_logging(level_name: str, stream: TextIO | None = None) -> None:
    """Send every record of the worker to stderr as JSON lines.

    Installed before any backend import: neonize calls ``logging.basicConfig`` at import, which is a
    no-op once the root logger has a handler (docs/neonize.md §0.8).
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(parse_level(level_name))


def parse_level(name: str) -> int:
    level = logging.getLevelName(name.strip().upper())
    return level if isinstance(level, int) else logging.INFO


def parse_worker_log_line(line: str) -> WorkerLogLine | None:
    """Our own structured line, or ``None`` for anything else (Go prints, tracebacks, warnings)."""
    if not line.startswith("{") or len(line) > MAX_LINE_CHARS * 4:
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or obj.get("kind") != LOG_LINE_KIND:
        return None
    level, logger, message = obj.get("level"), obj.get("logger"), obj.get("message")
    if not (isinstance(level, str) and isinstance(logger, str) and isinstance(message, str)):
        return None
    exc = obj.get("exc")
    if isinstance(exc, str) and exc:
        message = f"{message}\n{exc}"
    if logger.startswith(FOREIGN_LOGGERS):
        message = scrub_phones(message)
    return WorkerLogLine(parse_level(level), logger, message)
