"""The one polling helper of the tests: wait until a condition holds, with a generous bound.

For what another thread or process does (a controller, the leader, a server starting). The
bound is a deadline to fail by, never a speed the test asserts; on a busy 2-core box it is
reached only when something is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(check: Callable[[], T], timeout: float = 60.0, every: float = 0.05, what: str = "",
          not_yet: tuple[type[BaseException], ...] = (AttributeError, TypeError)) -> T:
    """Call `check` until it returns something truthy; return that.

    An exception in `not_yet` counts as "not yet" (by default the client reading a status field
    not written yet as None); the last one is reported on timeout, as an AssertionError."""
    deadline = time.monotonic() + timeout
    error: BaseException | None = None
    while True:
        try:
            found = check()
        except not_yet as exc:
            found, error = None, exc
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:g} s: {what or check}"
                                 + (f" (last error: {error!r})" if error else ""))
        time.sleep(every)
