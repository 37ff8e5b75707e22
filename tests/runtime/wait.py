"""Polling until a condition holds, with a bound: for what another thread or process does.

The bound (60 s) is generous on purpose: it ends a test that is already failing and must never
be what a slow but correct run trips over on a busy CI machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(check: Callable[[], T], timeout: float = 60.0, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check}")
        time.sleep(every)
