"""What a snapshot of a student's volume is called and how it is marked.

- Name: `<claim>-<why>-<YYYYmmddtHHMM>` (UTC, to the minute), as `shared.actions.snapshot_name`
  writes it, `<why>` being the reason (`scheduled`, `manual`, `final`) or `deadline-<name>`.
  Deterministic, so the same firing twice names the same snapshot and the second finds it done.
  Always a valid DNS-1123 subdomain of at most 253 characters: an over-long claim is cut and a
  hash of the whole name keeps it unique.
- Labels (63 characters of `[A-Za-z0-9._-]`): KubeSpawner's slug of the user (the same
  `hub.jupyter.org/username` its pods and PVCs carry) and of the server, the reason, the course
  and term; `component=singleuser-storage`, as the PVC has, so `classops status` finds them.
- Annotations: the raw username and server name (an email address is no label value), the
  claim, its uid, the event and the time the snapshot stands for.

The user of a PVC is its `hub.jupyter.org/username` annotation, never parsed from its name
(KubeSpawner's name template is configurable and slugs are one-way).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .slugs import safe_slug

USERNAME = "hub.jupyter.org/username"
SERVERNAME = "hub.jupyter.org/servername"
COMPONENT, STORAGE = "component", "singleuser-storage"
MANAGED_BY = "app.kubernetes.io/managed-by"
REASON = "classops.edu/reason"
TERM = "classops.edu/term"
COURSE = "classops.edu/course"
CLAIM = "classops.edu/claim"
CLAIM_UID = "classops.edu/claim-uid"
EVENT = "classops.edu/event-id"
TAKEN_FOR = "classops.edu/at"  # the instant the snapshot stands for (the firing's time)
DEADLINE = "classops.edu/deadline"
#: classops's finalizer on user PVCs: held until the last snapshot exists.
FINALIZER = "classops.edu/last-snapshot"

SCHEDULED, DEADLINE_REASON, MANUAL, FINAL = "scheduled", "deadline", "manual", "final"
MAX_NAME = 253
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_subdomain(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and _SUBDOMAIN.fullmatch(name) is not None


def token(text: str) -> str:
    """`text` as a DNS label part: lower case, runs of anything else as one `-`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclass(frozen=True)
class Volume:
    """A student's PVC as classops sees it: who it belongs to, read from its annotations."""

    claim: str
    namespace: str
    user: str  # the raw hub username
    server: str = ""  # "" : the default server
    uid: str = ""

    @classmethod
    def of(cls, obj: Mapping[str, object]) -> Volume | None:
        """From a PVC object; None when it carries no username annotation (not a user's)."""
        meta = obj.get("metadata")
        if not isinstance(meta, Mapping):
            return None
        notes = meta.get("annotations") or {}
        assert isinstance(notes, Mapping)
        user = notes.get(USERNAME)
        if not isinstance(user, str) or not user:
            return None
        return cls(str(meta.get("name", "")), str(meta.get("namespace", "")), user,
                   str(notes.get(SERVERNAME) or ""), str(meta.get("uid", "")))


def why(reason: str, deadline: str = "") -> str:
    return f"deadline-{token(deadline)}" if reason == DEADLINE_REASON and deadline else \
        token(reason)


def snapshot_name(claim: str, reason: str, at: datetime, deadline: str = "") -> str:
    """`claim-alice-scheduled-20261012t0700`; cut with a hash when it would exceed 253."""
    tail = f"-{why(reason, deadline)}-{at.astimezone(UTC):%Y%m%dt%H%M}"
    name = f"{claim}{tail}"
    if is_subdomain(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    head = token(claim)[:MAX_NAME - len(tail) - len(digest) - 1].strip("-.") or "x"
    return f"{head}-{digest}{tail}"


def labels(volume: Volume, reason: str, course: str, term: str) -> dict[str, str]:
    found = {MANAGED_BY: "classops", COMPONENT: STORAGE,
             USERNAME: safe_slug(volume.user), REASON: safe_slug(reason),
             COURSE: safe_slug(course), TERM: safe_slug(term)}
    if volume.server:
        found[SERVERNAME] = safe_slug(volume.server)
    return found


def notes_of(volume: Volume, at: datetime, event_id: str,
                deadline: str = "") -> dict[str, str]:
    found = {USERNAME: volume.user, CLAIM: volume.claim, EVENT: event_id,
             TAKEN_FOR: at.astimezone(UTC).isoformat()}
    if volume.server:
        found[SERVERNAME] = volume.server
    if volume.uid:
        found[CLAIM_UID] = volume.uid
    if deadline:
        found[DEADLINE] = deadline
    return found


def user_selector(user: str) -> str:
    """The label selector of one user's snapshots (and KubeSpawner's pods and PVCs)."""
    return f"{USERNAME}={safe_slug(user)}"
