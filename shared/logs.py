"""Structured logs: one JSON object per line, carrying the event id (and whatever else is bound).

    log = bind(logging.getLogger("classops"), event_id=event.id)
    log.info("applied", extra={"action": "scale"})

Keys that look like secrets (token, password, secret, authorization, credentials) are masked
wherever they appear, and a `Secret` prints as `***`: a log line never carries one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

_SECRET_KEY = re.compile(r"token|password|passwd|secret|authorization|credential|api_key",
                         re.IGNORECASE)
#: Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _clean(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEY.search(key):
        return "***"
    if isinstance(value, Mapping):
        return {str(k): _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = _clean(value, key)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class Bound(logging.LoggerAdapter[logging.Logger]):
    """A logger with fields added to every record (the event id, the handler, ...)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def bind(logger: logging.Logger | Bound, **fields: Any) -> Bound:
    if isinstance(logger, Bound):
        return Bound(logger.logger, {**(logger.extra or {}), **fields})
    return Bound(logger, fields)


def configure(level: str = "INFO", stream: Any = None) -> logging.Logger:
    """The `classops` logger writing JSON lines to `stream` (stderr by default); waitress's own
    messages (the HTTP server's) go the same way, so stderr holds JSON lines only."""
    logger = logging.getLogger("classops")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for name in ("classops", "waitress"):
        found = logging.getLogger(name)
        found.handlers[:] = [handler]
        found.propagate = False
    logger.setLevel(level)
    logging.getLogger("waitress").setLevel(max(logging.INFO, logger.level))
    return logger
