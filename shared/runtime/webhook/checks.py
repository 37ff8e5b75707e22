"""Checks of a raw webhook request, before the CloudEvents SDK sees it (pure: headers and body in,
a verdict out).

The SDK is lenient where dedupe and safety need strictness: a binary request without `ce-id` gets
a random id (so a retried POST would run twice), a missing `specversion` is read as 1.0, and 0.3
is accepted. So the raw request is checked first, and every problem is reported at once:

- 415: neither mode we read. Binary mode is any `ce-*` header, with JSON data (or none);
  structured mode is `application/cloudevents+json`. Batches and other formats are refused.
- 400: `id`, `source`, `type` missing or not a non-empty string; `specversion` not exactly
  "1.0"; a `type` no registered function handles; a structured body that is not a JSON object.
- 400: a `ce-*` header value with a character outside printable ASCII (U+0020-U+007E), or
  whose percent-encoding does not decode to UTF-8. The CloudEvents HTTP binding (1.0.2, section
  3.1.3.2) percent-encodes every other character, and says a decoder MUST reject encoded bytes
  that are not UTF-8; the SDK would read them as U+FFFD instead, so an id could change meaning.
(413, over `MAX_BODY`, is decided on the length before the body is read.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

MAX_BODY = 1024 * 1024
STRUCTURED = "application/cloudevents+json"
REQUIRED = ("id", "source", "type", "specversion")
PRINTABLE = re.compile(r"[\x20-\x7e]*")


def header_problems(headers: Mapping[str, str]) -> list[str]:
    """What is wrong with the `ce-*` header values as the HTTP binding encodes them."""
    problems = []
    for name, value in sorted(headers.items()):
        if not name.lower().startswith("ce-"):
            continue
        if not PRINTABLE.fullmatch(value):
            problems.append(f"header {name.lower()} holds characters outside printable ASCII; "
                            f"percent-encode them (UTF-8), as the CloudEvents HTTP binding says")
            continue
        try:
            unquote_to_bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"header {name.lower()} is percent-encoded bytes that are not UTF-8")
    return problems


@dataclass(frozen=True)
class Verdict:
    status: int  # 200: read it with the SDK; else the answer
    problems: list[str] = field(default_factory=list)
    mode: str = ""  # "binary" or "structured"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def check(headers: Mapping[str, str], body: bytes, handled: Collection[str]) -> Verdict:
    lower = {k.lower(): v for k, v in headers.items()}
    media = media_type(lower.get("content-type"))
    binary = any(k.startswith("ce-") for k in lower)
    if problems := header_problems(lower):  # in either mode: a structured one may carry them
        return Verdict(400, problems, "binary" if binary else "structured")
    if media == STRUCTURED:
        return _structured(body, handled)
    if media.startswith("application/cloudevents"):
        return Verdict(415, [f"content type {media!r} is not read here; send one event as "
                             f"{STRUCTURED} or in binary mode"])
    if not binary:
        return Verdict(415, [f"not a CloudEvent: content type {media or '(none)'!r} without "
                             f"ce-* headers; use binary mode (ce-* headers, JSON data) or "
                             f"{STRUCTURED}"])
    if body and not _is_json(media):
        return Verdict(415, [f"binary mode data must be JSON, got content type "
                             f"{media or '(none)'!r}"])
    attributes = {name: lower.get(f"ce-{name}") for name in REQUIRED}
    return _attributes(attributes, handled, "binary", "header ce-")


def _structured(body: bytes, handled: Collection[str]) -> Verdict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        return Verdict(400, [f"the body is not JSON: {err}"])
    if not isinstance(document, dict):
        return Verdict(400, ["the body must be one JSON object (batches are not read)"])
    return _attributes({n: document.get(n) for n in REQUIRED}, handled, "structured",
                       "attribute ")


def _attributes(found: Mapping[str, Any], handled: Collection[str], mode: str,
                where: str) -> Verdict:
    problems = []
    for name in REQUIRED:
        value = found.get(name)
        if value is None:
            problems.append(f"{where}{name} is missing")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where}{name} must be a non-empty string")
    spec = found.get("specversion")
    if isinstance(spec, str) and spec.strip() and spec != "1.0":
        problems.append(f"{where}specversion {spec!r} is not supported, expected '1.0'")
    kind = found.get("type")
    if isinstance(kind, str) and kind.strip() and kind not in handled:
        problems.append(f"{where}type {kind!r} is not handled by any function")
    return Verdict(400 if problems else 200, problems, mode)
