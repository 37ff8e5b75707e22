"""Kubernetes' timestamps (RFC 3339, `2026-12-07T20:14:56Z`) read into aware datetimes. Pure."""

from __future__ import annotations

from datetime import datetime


def kube_time(value: object) -> datetime | None:
    """The instant a timestamp field holds; None for a field unset, empty or not a string."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
