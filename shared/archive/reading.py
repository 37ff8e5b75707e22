"""Read a student's committed copies back from S3: `latest.json`, one manifest by timestamp.

Apart from the worker so that a restore (`archive-worker --restore`, `find`) loads neither the
packing side (tar writer, multipart upload) nor the worker's thread pool: a one-student restore
run as a command is mostly start-up, and each module on its path is paid every time.
"""

from __future__ import annotations

from shared.ports.errors import ApiError
from shared.ports.s3 import S3

from .layout import Place
from .manifest import Manifest


def read_latest(s3: S3, place: Place) -> Manifest | None:
    try:
        data = s3.get_bytes(place.latest)
    except ApiError as err:
        if err.not_found:
            return None
        raise
    return Manifest.from_json(data, place.latest)


def read_manifest(s3: S3, place: Place, timestamp: str) -> Manifest:
    key = place.manifest(timestamp)
    return Manifest.from_json(s3.get_bytes(key), key)
