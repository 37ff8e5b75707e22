"""What students are told at the end of term: the hub's announcement, and the note each archive
carries at its root (`WHERE-ARE-MY-FILES.txt`). Also the `hub-term-end` ConfigMap that closes
spawning and shows the announcement (the hub reads it live: `infra/hub/jupyterhub_config.py`).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from shared.stack.config import HubSettings
from shared.stack.labels import TERM_END_CONFIGMAP, TERM_END_KEY, labels

WHERE = "WHERE-ARE-MY-FILES.txt"
# the note's name in an archive: WHERE, or WHERE-2.txt... if the home has a file of that name
_WHERE_NAMES = re.compile(r"WHERE-ARE-MY-FILES(-\d+)?\.txt")


def is_where_note(path: str) -> bool:
    """Is this extra of a manifest the note (under its own name or its renamed one)?"""
    return bool(_WHERE_NAMES.fullmatch(path))


def announcement(course: str, term: str, last_day: date | str) -> str:
    return (f"{course} {term} has ended (last day {last_day}). New servers can no longer be "
            "started. Your files are archived: ask your instructor for a download link to "
            "your archive (a .tar.gz that opens anywhere).")


def where_are_my_files(course: str, term: str, user: str, archive_key: str,
                       bucket: str = "") -> bytes:
    """The note; `archive_key` may be the owner's folder of copies (the same text for every
    copy, so an unchanged home's term-end copy is not made again)."""
    place = f"s3://{bucket}/{archive_key}" if bucket else archive_key
    return (f"Your files from {course} {term}\n"
            f"{'=' * (len(course) + len(term) + 16)}\n\n"
            f"This archive holds the home folder of hub user {user} as it was at the end of "
            "term.\nEverything else in it is your files, with their folders, as they were.\n\n"
            f"It is kept at {place}.\nYour instructor can send you a download link (it works "
            "for up to 7 days; ask again for a new one).\n\nTo unpack it:  tar xzf "
            "<archive>.tar.gz   (Windows: 7-Zip; macOS: double-click)\n").encode()


def closing_config(settings: HubSettings, text: str) -> dict[str, Any]:
    """The `hub-term-end` ConfigMap: spawning closed (admins excepted), the announcement shown.
    Labelled as the hub stack, so a teardown removes it with the rest."""
    body = json.dumps({"spawning": "closed", "announcement": text}, indent=1)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": TERM_END_CONFIGMAP, "namespace": settings.namespace,
                         "labels": labels(settings, "hub")},
            "data": {TERM_END_KEY: body}}
