"""Faults, latency and the request log: what a test sets to see how classops copes, and reads to
audit what classops called. The same operations are served over HTTP under `/_emu/`.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    verb: str  # a Kubernetes verb (get, list, watch, create, update, patch, delete, ...) or "*"
    path: str  # a regular expression searched in the request path
    status: int
    remaining: int
    retry_after: int | None = None
    message: str = ""

    def matches(self, verb: str, path: str) -> bool:
        return self.verb in ("*", verb) and re.search(self.path, path) is not None


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests",
            500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def reason_for(status: int) -> str:
    return _REASONS.get(status, "Unknown")


@dataclass
class Latency:
    seconds: float
    verb: str = "*"
    path: str = ""

    def matches(self, verb: str, path: str) -> bool:
        return self.verb in ("*", verb) and re.search(self.path, path) is not None


@dataclass(frozen=True)
class RequestRecord:
    at: float
    user: str
    verb: str
    path: str
    query: str
    status: int
    field_manager: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Controls:
    faults: list[Fault] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, verb: str, path: str, status: int, count: int = 1,
             retry_after: int | None = None, message: str = "") -> None:
        with self.lock:
            self.faults.append(Fault(verb, path, status, count, retry_after, message))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.latencies.clear()

    def add_latency(self, seconds: float, verb: str = "*", path: str = "") -> None:
        with self.lock:
            self.latencies.append(Latency(seconds, verb, path))

    def take_fault(self, verb: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(verb, path):
                    fault.remaining -= 1
                    return fault
            return None

    def delay_for(self, verb: str, path: str) -> float:
        with self.lock:
            return sum(lat.seconds for lat in self.latencies if lat.matches(verb, path))

    def record(self, rec: RequestRecord) -> None:
        with self.lock:
            self.requests.append(rec)

    def request_log(self, since: float = 0.0) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.requests if r.at >= since]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()


def now() -> float:
    return time.time()
