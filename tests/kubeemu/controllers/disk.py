"""Where the emulated storage lives on this machine: one folder per PV, per snapshot, per pod log.

The `volumes`, `snapshots` and `jobs` controllers share one `Disk` per emulator (`disk(emu)`):

    <root>/volumes/<pv name>/        the PV's files (what a pod mounting its claim sees)
    <root>/snapshots/<handle>/       a snapshot's copy, cut when the VolumeSnapshot was taken
    <root>/logs/<ns>/<pod>/<c>.log   each container's output, served by `pods/log`

The root is a temporary folder removed when the emulator stops, unless the first storage
controller made is given `root=`, or `KUBEEMU_DATA_DIR` is set (for the standalone emulator):
then it is kept, for a test or an operator to look at. A volume marked full
(`fill`) makes writes that grow a file fail in the Job processes that mount it: see `jobs.py`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..emulator import Emulator


class Disk:
    def __init__(self, root: str | Path | None = None) -> None:
        root = root or os.environ.get("KUBEEMU_DATA_DIR") or None
        self.owned = root is None  # a temporary root goes with the emulator
        self.root = Path(root) if root is not None else Path(
            tempfile.mkdtemp(prefix="kubeemu-data-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.full: set[str] = set()  # PV names whose folder is full
        self.lock = threading.Lock()

    def volume(self, pv_name: str) -> Path:
        path = self.root / "volumes" / pv_name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def snapshot(self, handle: str) -> Path:
        return self.root / "snapshots" / handle

    def log(self, namespace: str, pod: str, container: str) -> Path:
        return self.root / "logs" / namespace / pod / f"{container}.log"

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)


def disk(emu: Emulator, root: str | Path | None = None) -> Disk:
    """The emulator's Disk, made on first use (with `root`, if given before anything made it)."""
    with _GUARD:
        found: Disk | None = getattr(emu, "_kubeemu_disk", None)
        if found is None:
            found = Disk(root)
            emu._kubeemu_disk = found  # type: ignore[attr-defined]
        return found


_GUARD = threading.Lock()
