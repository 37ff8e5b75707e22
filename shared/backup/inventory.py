"""Snapshots as retention and the ledger read them: a `Held` per VolumeSnapshot classops took,
read from the object's labels, annotations and status (pure: the I/O hands in the dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.timestamps import kube_time

from . import naming


@dataclass(frozen=True)
class Held:
    name: str
    namespace: str
    user: str  # raw username
    server: str
    claim: str
    reason: str
    at: datetime  # the instant it stands for (its firing), else when it was made
    ready: bool
    error: str = ""
    deadline: str = ""

    @property
    def group(self) -> tuple[str, str, str]:
        """Retention counts per user, server and reason."""
        return (self.user, self.server, self.reason)


def held(obj: Mapping[str, Any]) -> Held | None:
    """A VolumeSnapshot classops took (it has the username annotation and a reason label)."""
    meta = obj.get("metadata") or {}
    notes, marks = meta.get("annotations") or {}, meta.get("labels") or {}
    user, reason = notes.get(naming.USERNAME), marks.get(naming.REASON)
    if not user or not reason:
        return None
    status = obj.get("status") or {}
    at = (kube_time(notes.get(naming.TAKEN_FOR)) or kube_time(status.get("creationTime"))
          or kube_time(meta.get("creationTimestamp")))
    if at is None:
        return None
    error = status.get("error") or {}
    return Held(str(meta.get("name", "")), str(meta.get("namespace", "")), str(user),
                str(notes.get(naming.SERVERNAME) or ""), str(notes.get(naming.CLAIM) or ""),
                str(reason), at, status.get("readyToUse") is True,
                str(error.get("message", "")) if isinstance(error, Mapping) else str(error),
                str(notes.get(naming.DEADLINE) or ""))
