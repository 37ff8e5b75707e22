"""A seeded synthetic class: one folder per student, as their home directories look in a course.

Per student about 35 files: notebooks of 5-200 KB (JSON, code and text outputs, some with a
base64 picture), CSVs of 0.5-3 MB (random measurements: digits, so they compress as real data
does, about 2.3x), for one student in ten a few incompressible data files of 2-8 MB, empty
folders, and names that are not ASCII. The same seed gives the same bytes and mtimes, so tools
are compared on identical input. Usernames include the characters hubs allow (`@`, `.`, `-`).

`change(root, share, seed)` rewrites one notebook of that share of the students (the "5% changed
a notebook" re-run).
"""

from __future__ import annotations

import base64
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_VOCABULARY = ("import numpy as np pandas pd df plot fig ax data train test model fit predict loss "
               "accuracy epoch def return for in range if else print len x y z mean std the of "
               "a to and is that we this result figure shows value column row sample")
WORDS = tuple(_VOCABULARY.split())
NAMES = ("Übung", "données", "análisis", "ノート", "задание", "résumé", "naïve", "προβολή")
EPOCH = 1_780_000_000  # 2026-05-28: files older than the term's copies


@dataclass(frozen=True)
class Student:
    name: str
    files: int
    size: int


def username(i: int) -> str:
    if i % 25 == 7:
        return f"student{i:03d}@uni.example"
    if i % 40 == 3:
        return f"jean.dupont-{i:03d}"
    return f"student{i:03d}"


def _text(rng: random.Random, size: int) -> str:
    words = rng.choices(WORDS, k=max(1, size // 5))
    return " ".join(words)[:size]


def notebook(rng: random.Random, size: int) -> bytes:
    cells, total = [], 0
    while total < size:
        chunk = rng.randint(300, 4000)
        source = _text(rng, chunk).replace(" return ", "\n    return ").split(" print ")
        cell = {"cell_type": "code", "execution_count": len(cells) + 1, "metadata": {},
                "source": source, "outputs": [{"output_type": "stream", "name": "stdout",
                                               "text": [_text(rng, chunk // 3)]}]}
        if rng.random() < 0.08:  # a plot: a PNG is compressed data, base64 of it barely shrinks
            png = base64.b64encode(rng.randbytes(rng.randint(4000, 30000))).decode()
            cell["outputs"].append({"output_type": "display_data",
                                    "data": {"image/png": png}, "metadata": {}})
            total += len(png)
        cells.append(cell)
        total += chunk + chunk // 3 + 200
    doc = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}},
           "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1, ensure_ascii=False).encode()


def csv(gen: np.random.Generator, size: int) -> bytes:
    """Rows of 6 fields `dd.dddd`, random digits: measurements, not a repeated pattern."""
    rows = max(1, size // 48)
    table = np.empty((rows, 48), dtype=np.uint8)
    table[:] = gen.integers(48, 58, size=(rows, 48), dtype=np.uint8)
    for field in range(6):
        table[:, field * 8 + 2] = ord(".")
        table[:, field * 8 + 7] = ord(",")
    table[:, 47] = ord("\n")
    table[:, 0] = ord("0") + (np.arange(rows) // 1000 % 10)  # a slowly changing column
    return b"t,x,y,z,u,v\n" + table.tobytes()


def _write(path: Path, data: bytes, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def student(root: Path, i: int, seed: int) -> Student:
    rng = random.Random(f"{seed}-{i}")
    gen = np.random.default_rng([seed, i])
    home = root / username(i)
    home.mkdir(parents=True)
    files, size = 0, 0

    def put(rel: str, data: bytes) -> None:
        nonlocal files, size
        _write(home / rel, data, EPOCH + rng.randint(0, 8_000_000) + rng.random())
        files, size = files + 1, size + len(data)

    for n in range(rng.randint(26, 32)):
        folder = rng.choice(("", "week1/", "week2/", "week3/", "project/", "labs/"))
        name = rng.choice(NAMES) if n % 9 == 0 else "lab"
        put(f"{folder}{name}-{n}.ipynb", notebook(rng, int(rng.triangular(5_000, 200_000, 20_000))))
    for n in range(rng.randint(1, 3)):
        put(f"data/{'données' if n == 0 else 'run'}-{n}.csv",
            csv(gen, rng.randint(500_000, 3_000_000)))
    if i % 10 == 0:
        for n in range(rng.randint(2, 4)):
            put(f"data/raw/sensor-{n}.bin", rng.randbytes(rng.randint(2_000_000, 8_000_000)))
    put("README.md", _text(rng, 2000).encode())
    put(".bashrc", b"export PS1='$ '\n")
    for empty in ("scratch", "project/output", ".ipynb_checkpoints", "café/vide"):
        (home / empty).mkdir(parents=True, exist_ok=True)
    (home / "latest-lab").symlink_to("labs")  # a link inside the home, kept as a link
    return Student(home.name, files, size)


def generate(root: Path, students: int, seed: int = 2026) -> list[Student]:
    root.mkdir(parents=True, exist_ok=True)
    return [student(root, i, seed) for i in range(students)]


def change(root: Path, share: float, seed: int = 2026, at: float = EPOCH + 9_000_000) -> int:
    """Rewrite one notebook of `share` of the students; return how many changed."""
    rng = random.Random(f"{seed}-change")
    homes = sorted(p for p in root.iterdir() if p.is_dir())
    chosen = rng.sample(homes, max(1, round(len(homes) * share)))
    for home in chosen:
        target = sorted(home.rglob("*.ipynb"))[0]
        _write(target, notebook(rng, 40_000), at + rng.random())
    return len(chosen)
