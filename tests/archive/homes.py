"""Homes for the archive tests: every kind of entry a student's home holds, and a comparison
of two folders by what `lstat` and the bytes say (nothing followed through symlinks)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shared.archive.layout import Owner
from shared.archive.worker import Home
from shared.ports.s3 import S3, connect
from tests.servers.fixtures import S3Bucket

NS = 1_780_000_000_123_456_789  # a mtime with nanoseconds
SECRET = b"another student's answers\n"


def port(s3: S3Bucket, endpoint_url: str | None = None) -> S3:
    import boto3

    session = boto3.session.Session(aws_access_key_id=s3.endpoint.access_key,
                                     aws_secret_access_key=s3.endpoint.secret_key)
    return S3(connect(endpoint_url or s3.endpoint.endpoint_url, s3.endpoint.region, session),
              s3.name)


def touch(path: Path, data: bytes, mode: int = 0o644, ns: int = NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(ns, ns))
    return path


def make_home(root: Path, user: str = "alice", big: int = 0) -> Home:
    """A home with modes, nanosecond mtimes, empty and read-only folders, non-ASCII names,
    symlinks inside and out of it, and (`big` > 0) an incompressible file of `big` bytes."""
    outside = touch(root / "outside" / "answers.txt", SECRET)
    home = root / user
    touch(home / "lab1.ipynb", b'{"cells": []}\n' * 300)
    touch(home / "run.sh", b"#!/bin/sh\necho hi\n", 0o755, NS + 1)
    touch(home / "private" / "grades.csv", b"a,b\n1,2\n", 0o600, NS + 2)
    touch(home / "Übungen" / "données été.csv", "ü,é\n".encode() * 50, 0o640)
    touch(home / "ノート" / "日本語.txt", "こんにちは\n".encode())
    touch(home / "empty-file", b"")
    if big:
        touch(home / "data" / "raw.bin", os.urandom(big))
    (home / "scratch" / "deeper").mkdir(parents=True)
    (home / "vide ø").mkdir()
    (home / "latest").symlink_to("Übungen")
    (home / "escape").symlink_to(outside)  # kept as a link; its target's bytes never copied
    (home / "up").symlink_to("../outside")
    (home / "dangling").symlink_to("does/not/exist")
    locked = home / "locked"
    touch(locked / "keep.txt", b"kept\n")
    for folder in (home / "Übungen", home / "scratch" / "deeper", locked, home):
        os.utime(folder, ns=(NS + 5, NS + 5))
    locked.chmod(0o555)
    return Home(Owner(user), home)


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root` by relative path: type, mode, mtime (ns), content or target."""
    found: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path), st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns,
                              path.read_bytes())
    return found
