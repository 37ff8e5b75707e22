"""The `teardown:` section of schedules.yaml: who is never torn down, and how long links last.

    teardown:
      protected: [prof-smith, ta-jones]   # instructors and TAs: their PVCs and snapshots stay
      link_days: 7                        # presigned links in the report (at most 7: SigV4)

The hub's `admins` are protected too (they are the course staff the hub already knows), so a
course that lists its instructors there need not list them twice. Usernames are the hub's raw
names (an e-mail address is fine); each bad entry is a `file:line:column` problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.timetable.fields import Node
from shared.timetable.sections import section

KEYS = ("protected", "link_days")
MAX_LINK_DAYS = 7  # SigV4's limit for a presigned URL
_USERNAME = re.compile(r"[^/\s]{1,255}")


@dataclass(frozen=True)
class Protection:
    protected: frozenset[str] = frozenset()
    link_days: int = MAX_LINK_DAYS

    def why(self, user: str, admins: Iterable[str] = ()) -> str:
        """Why `user` is protected ("" if not)."""
        if user in self.protected:
            return "protected (teardown.protected in schedules.yaml)"
        if user in set(admins):
            return "protected (a hub admin: hub.admins in schedules.yaml)"
        return ""


@section("teardown", needs=("course",))
def parse_teardown(node: Node) -> Protection | None:
    if not node.keys(KEYS):
        return None
    names: list[str] = []
    listed = node.child("protected")
    for item in listed.items() if listed is not None else []:
        name = item.text(_USERNAME, "a hub username (no '/' or spaces)")
        if name is not None and name in names:
            item.problem(f"{name!r} is listed twice, expected each user once")
        elif name is not None:
            names.append(name)
    days = node.get("link_days", lambda n: n.integer(minimum=1), MAX_LINK_DAYS)
    days_node = node.child("link_days")
    if days is not None and days > MAX_LINK_DAYS and days_node is not None:
        days_node.problem(f"{days} days: a presigned link lasts at most {MAX_LINK_DAYS} days "
                          "(the S3 SigV4 limit), expected 1 to 7")
        return None
    if days is None:
        return None
    return Protection(frozenset(names), days)


def protection_of(extensions: dict[str, Any] | Any) -> Protection:
    """The parsed section from a Timetable's `extensions`, or the defaults."""
    found = (extensions or {}).get("teardown")
    return found if isinstance(found, Protection) else Protection()
