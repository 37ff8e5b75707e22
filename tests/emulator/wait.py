"""Waiting for what controllers do in the background, by wall time, without fixed sleeps.

The deadline is generous (60 s) on purpose: it only bounds a test that is already failing, and a
busy 2-core CI box can be many times slower than a laptop; a passing wait returns at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.01,
               what: str = "") -> T:
    """Poll `predicate` (wall time) until it returns something truthy; return that.

    A predicate that trips over a field not written yet (the client reads a missing status as
    None: AttributeError, TypeError) counts as "not yet"; the last such error is reported on
    timeout."""
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while True:
        try:
            value = predicate()
        except (AttributeError, TypeError) as exc:
            value, error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what or predicate} (last error: {error!r})")
        time.sleep(interval)
