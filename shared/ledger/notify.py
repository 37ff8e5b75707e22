"""Failures also go to a configured webhook (`CLASSOPS_LEDGER_WEBHOOK_URL`): one POST per batch
with its failed records as JSON, so a course's chat or on-call tool hears of a failed snapshot
within minutes, not when someone reads `classops status`. Best effort: the caller logs errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .records import Record

TIMEOUT = 10.0


class Webhook:
    def __init__(self, url: str, course: str, term: str, timeout: float = TIMEOUT) -> None:
        self.url, self.course, self.term, self.timeout = url, course, term, timeout

    def __call__(self, failed: Sequence[Record]) -> None:
        import requests  # loads with the first failure, not with every CLI command

        body: dict[str, Any] = {"course": self.course, "term": self.term,
                "text": f"classops {self.course}/{self.term}: {len(failed)} failed: "
                        + "; ".join(f"{r.target}: {r.detail}" for r in failed[:5]),
                "failures": [r.as_dict() for r in failed]}
        answer = requests.post(self.url, json=body, timeout=self.timeout)
        answer.raise_for_status()
