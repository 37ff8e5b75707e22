"""The emulator's clock: what `creationTimestamp` and every later controller read.

Tests set it, advance it, or let it run at a rate (60.0 = one emulated minute per wall second), so a
lecture hour passes in a second of wall time without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None, rate: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._base = start or datetime.now(UTC).replace(microsecond=0)
        self._wall = time.monotonic()
        self._rate = rate

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=(time.monotonic() - self._wall) * self._rate)

    def _rebase(self, new: datetime) -> None:
        self._base, self._wall = new, time.monotonic()

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            self._rebase(when.astimezone(UTC))

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            now = self._base + timedelta(seconds=(time.monotonic() - self._wall) * self._rate)
            self._rebase(now + timedelta(seconds=seconds))
            return self._base

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        if rate < 0:
            raise ValueError("the clock's rate cannot be negative")
        with self._lock:
            now = self._base + timedelta(seconds=(time.monotonic() - self._wall) * self._rate)
            self._rebase(now)
            self._rate = rate


def timestamp(when: datetime) -> str:
    """RFC 3339 at second precision, as metav1.Time serialises."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
