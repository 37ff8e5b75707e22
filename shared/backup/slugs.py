"""KubeSpawner 7's "safe" slug scheme, for the label values classops puts on snapshots.

KubeSpawner labels a user's pods and PVCs `hub.jupyter.org/username: safe_slug(name,
is_valid=is_valid_label)`; classops labels snapshots the same way, so one selector finds a
student's pods, PVCs and snapshots. The scheme (kubespawner/slugs.py): a name that already is a
valid value and holds no `--` is kept as it is; any other name becomes a lower-case,
hyphen-separated prefix of it (at most 21 characters, starting with a letter), then `---`, then
the first 8 hex digits of the SHA-256 of the raw name, so two names never share a slug.
Labels allow 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric; object names
(DNS labels) 63 of `[a-z0-9-]`, starting with a letter. Written here (not imported) because
KubeSpawner is the hub's dependency, not classops's; a test compares the two when both exist.
"""

from __future__ import annotations

import hashlib
import re

HASH_LENGTH = 8
MAX_LENGTH = 32  # KubeSpawner's default length of a hashed slug
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_OBJECT = re.compile(r"[a-z]([a-z0-9-]*[a-z0-9])?")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def is_valid_label(text: str) -> bool:
    """A Kubernetes label value: empty, or up to 63 of `[A-Za-z0-9._-]`, alphanumeric ends."""
    return not text or (len(text) <= 63 and _LABEL.fullmatch(text) is not None)


def is_valid_object_name(text: str) -> bool:
    """The strictest object name: an RFC 1035 label (starts with a letter), up to 63."""
    return 0 < len(text) <= 63 and _OBJECT.fullmatch(text) is not None


def _prefix(name: str, length: int) -> str:
    """Lower case, runs of anything else as one `-`, no `-` at the ends, a letter first."""
    cut = _NOT_ALNUM.sub("-", name.lower()).lstrip("-")[:length].rstrip("-")
    if cut and not cut[0].isalpha():
        cut = "x-" + cut[:length - 2]
    return cut or "x"


def hashed(name: str, max_length: int = MAX_LENGTH) -> str:
    """`<prefix>---<8 hex digits of sha256(name)>`, at most `max_length` characters."""
    room = max_length - (HASH_LENGTH + 3)
    if room < 1:
        raise ValueError(f"a hashed slug needs at least {HASH_LENGTH + 4} characters")
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    return f"{_prefix(name, room)}---{digest}"


def safe_slug(name: str, label: bool = True, max_length: int | None = None) -> str:
    """KubeSpawner's slug of `name`: as a label value (`label=True`, how it labels users) or
    as an object name."""
    valid = is_valid_label(name) if label else is_valid_object_name(name)
    if "--" not in name and valid and (max_length is None or len(name) <= max_length):
        return name
    return hashed(name, max_length or MAX_LENGTH)
