"""One error type for every port, so the executor decides on retries without importing an SDK.

`status` is the HTTP status (0: no answer at all: refused, reset, timed out); `retry_after` is the
server's Retry-After in seconds when it sent one.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Worth another try: no answer, a conflict with a concurrent writer, throttling, server trouble.
RETRYABLE = frozenset({0, 409, 429, 500, 502, 503, 504})


@dataclass
class ApiError(Exception):
    system: str  # kubernetes, s3, hub
    status: int
    reason: str = ""
    message: str = ""
    retry_after: float | None = None

    def __str__(self) -> str:
        reason = f" {self.reason}" if self.reason else ""
        return f"{self.system} answered {self.status}{reason}: {self.message}".rstrip(": ")

    @property
    def retryable(self) -> bool:
        # 409 AlreadyExists is an answer, not a race: the caller decides what it means.
        return self.status in RETRYABLE and self.reason != "AlreadyExists"

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def already_exists(self) -> bool:
        return self.status == 409 and self.reason == "AlreadyExists"


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form, the one API servers send)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
