"""The restore drill's choice (pure): who has a copy, and whose copy to restore this time.

`owners` lists who has a committed copy (a `latest.json`) under a course prefix from a listing
of keys; `choose` picks `sample` of them at random, seeded by the drill event's id, so a re-run
of the same drill picks the same students and a plan shows whom. The restore itself (the newest
copy into a scratch folder, every byte checked against its manifest) is the `RestoreDrill`
action's applier.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from .layout import LATEST, Owner, check_prefix


def owners(keys: Iterable[str], prefix: str) -> list[Owner]:
    """Everyone with a committed copy among `keys` (a listing of `prefix/`), sorted."""
    root = check_prefix(prefix) + "/"
    found = []
    for key in keys:
        parts = key.removeprefix(root).split("/")
        if key.startswith(root) and parts[-1] == LATEST and len(parts) in (2, 3):
            found.append(Owner(unquote(parts[0]), unquote(parts[1]) if len(parts) == 3 else ""))
    return sorted(found, key=lambda o: (o.user, o.server))


def choose(candidates: Sequence[Owner], seed: str, sample: int = 1) -> list[Owner]:
    """`sample` of the candidates, the same ones for the same seed and candidates."""
    ordered = sorted(candidates, key=lambda o: (o.user, o.server))
    return random.Random(seed).sample(ordered, min(max(sample, 0), len(ordered)))
