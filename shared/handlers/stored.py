"""What the S3 reader returns: an object or an unfinished upload, as plain records.

Apart from `readers` so that the S3 port can build them without importing the events and the
timetable (every archive command, and every copy Job, starts with the port).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    modified: datetime | None = None


@dataclass(frozen=True)
class StoredUpload:
    """A multipart upload started and neither finished nor aborted (its parts are stored)."""

    key: str
    upload_id: str
    initiated: datetime | None = None
