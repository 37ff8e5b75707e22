"""Stream a home as a tar.gz to S3: memory flat in the size of the home.

The tar is written by hand from `tarfile.TarInfo` headers (PAX format: non-ASCII and long names,
nanosecond mtimes), compressed with ISA-L's igzip (gzip-compatible, about 4x zlib's speed at
level 1 here; `isal_zlib` releases the GIL, so homes compress in parallel on threads), hashed,
and cut into parts. A home whose archive fits one part is one PUT carrying its SHA-256; a larger
one is a multipart upload whose every part carries its own SHA-256, which the server checks. Any
failure aborts the multipart upload, so no parts are left to pay for.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

from isal import isal_zlib

from shared.ports.s3 import S3

from .manifest import Entry, mtime_ns

PART = 8 * 2**20  # S3's smallest part is 5 MiB
MAX_PARTS = 9_000  # of S3's 10,000, with room for a home that grew while it was read
READ = 2**20
_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}


class ArchiveError(Exception):
    """A home could not be archived (read, or written to S3); the message says which file."""


def part_size(home_bytes: int, least: int = PART) -> int:
    """Parts big enough that even an incompressible home fits S3's 10,000."""
    return max(least, -(-home_bytes // MAX_PARTS))


class Upload:
    """Bytes written in order to one key: one PUT if they fit a part, else multipart."""

    def __init__(self, s3: S3, key: str, part: int = PART) -> None:
        self.s3, self.key, self.part = s3, key, part
        self.buffer = bytearray()
        self.digest = hashlib.sha256()
        self.size = 0
        self.upload_id: str | None = None
        self.parts: list[dict[str, object]] = []

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.buffer += data
        while len(self.buffer) >= self.part:
            self._send(bytes(memoryview(self.buffer)[:self.part]))
            del self.buffer[:self.part]

    def _send(self, chunk: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.s3.start_upload(self.key, "application/gzip")
        self.parts.append(self.s3.upload_part(self.key, self.upload_id, len(self.parts) + 1,
                                              chunk, hashlib.sha256(chunk).digest()))

    def finish(self) -> tuple[int, str]:
        """Complete the object; its size and hex SHA-256."""
        if self.upload_id is None:
            self.s3.put_bytes(self.key, bytes(self.buffer), "application/gzip",
                              sha256=self.digest.digest())
        else:
            if self.buffer:
                self._send(bytes(self.buffer))
            self.s3.finish_upload(self.key, self.upload_id, self.parts)
        self.buffer = bytearray()
        return self.size, self.digest.hexdigest()

    def abort(self) -> None:
        if self.upload_id is not None:
            self.s3.abort_upload(self.key, self.upload_id)
            self.upload_id = None


class TarGz:
    """A tar.gz written entry by entry into an `Upload`."""

    def __init__(self, out: Upload, level: int = 1) -> None:
        self.out = out
        self.z = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 31)  # 31: a gzip wrapper
        self.raw = 0
        self.hashed = 0  # bytes read and hashed (unchanged files are read, not hashed)

    def _emit(self, data: bytes) -> None:
        self.raw += len(data)
        packed = self.z.compress(data)
        if packed:
            self.out.write(packed)

    def _header(self, entry: Entry) -> None:
        info = tarfile.TarInfo(entry.path)
        info.type = _TYPES[entry.kind]
        info.mode = entry.mode
        info.mtime = mtime_ns(entry.mtime) // 1_000_000_000
        info.size = entry.size if entry.kind == "file" else 0
        info.linkname = entry.target
        info.pax_headers = {"mtime": entry.mtime}  # nanoseconds, as GNU tar writes them
        self._emit(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def add(self, entry: Entry, home: Path, known: str = "") -> Entry:
        """Write one entry; a file's content is read from `home` and hashed unless `known`
        (its SHA-256 from the last copy) is given. Returns the entry with its SHA-256."""
        self._header(entry)
        if entry.kind != "file":
            return entry
        digest = None if known else hashlib.sha256()
        left = entry.size
        path = os.path.join(os.fsencode(home), os.fsencode(entry.path))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as err:
            raise ArchiveError(f"{entry.path}: cannot read: {err.strerror}") from None
        with os.fdopen(fd, "rb", buffering=0) as f:
            while left:
                chunk = f.read(min(READ, left))
                if not chunk:
                    raise ArchiveError(f"{entry.path}: shrank while being copied")
                if digest is not None:
                    digest.update(chunk)
                left -= len(chunk)
                self._emit(chunk)
        if entry.size % tarfile.BLOCKSIZE:
            self._emit(tarfile.NUL * (tarfile.BLOCKSIZE - entry.size % tarfile.BLOCKSIZE))
        if digest is None:
            return Entry(**{**entry.__dict__, "sha256": known})
        self.hashed += entry.size
        return Entry(**{**entry.__dict__, "sha256": digest.hexdigest()})

    def add_bytes(self, entry: Entry, data: bytes) -> Entry:
        """A file that is not in the home (an extra, e.g. a note to the student)."""
        entry = Entry(entry.path, "file", entry.mode, entry.mtime, len(data),
                      hashlib.sha256(data).hexdigest())
        self._header(entry)
        self._emit(data + tarfile.NUL * (-len(data) % tarfile.BLOCKSIZE))
        return entry

    def close(self) -> None:
        """The end-of-archive blocks, padded to a whole record as tar does, and gzip's trailer."""
        end = 2 * tarfile.BLOCKSIZE
        self._emit(tarfile.NUL * (end + -(self.raw + end) % tarfile.RECORDSIZE))
        self.out.write(self.z.flush())
