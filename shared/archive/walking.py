"""Walk a home into manifest entries: every folder (empty ones too), file and symlink, sorted
by path, each from `lstat` so a symlink is recorded as a link and never followed (a link to
`/etc` or to another student's home copies nothing from there). Sockets, FIFOs and devices
have no content to keep: they are listed in `skipped`, not archived.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import Entry, mtime_text


@dataclass
class Walk:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)


def walk(home: Path) -> Walk:
    """The home's entries in archive order: a folder comes before what it holds."""
    if not home.is_dir() or home.is_symlink():
        raise NotADirectoryError(f"{home}: not a folder")
    found = Walk()
    _walk(os.fsencode(home), b"", found)
    return found


def _walk(root: bytes, rel: bytes, found: Walk) -> None:
    with os.scandir(os.path.join(root, rel) if rel else root) as it:
        items = sorted(it, key=lambda d: d.name)
    for item in items:
        path = os.path.join(rel, item.name) if rel else item.name
        st = item.stat(follow_symlinks=False)
        name = os.fsdecode(path)
        mode, mtime = stat.S_IMODE(st.st_mode), mtime_text(st.st_mtime_ns)
        if stat.S_ISDIR(st.st_mode):
            found.entries.append(Entry(name, "dir", mode, mtime))
            _walk(root, path, found)
        elif stat.S_ISREG(st.st_mode):
            found.entries.append(Entry(name, "file", mode, mtime, st.st_size))
        elif stat.S_ISLNK(st.st_mode):
            target = os.fsdecode(os.readlink(os.path.join(root, path)))
            found.entries.append(Entry(name, "symlink", mode, mtime, target=target))
        else:
            found.skipped.append(name)
