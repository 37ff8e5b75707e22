"""The plan as an operator reads it: a table, JSON, or an iCalendar file for a calendar app.

Each JSON entry carries `actions`, empty here: the CLI fills it with what the functions decide,
through the dry-run executor (this module only shows the timetable's firings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.events.types import PREFIX

from .occurrences import Occurrence


def short(kind: str) -> str:
    return kind.removeprefix(PREFIX)


def as_dicts(occurrences: Sequence[Occurrence]) -> list[dict[str, Any]]:
    # The CLI fills `actions` from the dry-run executor; the timetable knows only the firings.
    return [{"at": o.at.isoformat(), "type": o.type, "subject": o.subject, "id": o.id,
             "data": o.data, "actions": []} for o in occurrences]


def as_json(occurrences: Sequence[Occurrence]) -> str:
    return json.dumps(as_dicts(occurrences), indent=1)


def detail(o: Occurrence) -> str:
    d = o.data
    if "kind" in d:
        start, end = (datetime.fromisoformat(d[k]) for k in ("start", "end"))
        moved = f", moved from {d['moved_from'][:16]}" if "moved_from" in d else ""
        return (f"{d['kind']} for {d['audience']}: {d['expected']} expected, "
                f"{start:%H:%M}-{end:%H:%M}{moved}")
    if "due" in d:
        return f"due {d['due'][:16]}"
    if "keep_last" in d:
        extra = "".join(f", {k.removeprefix('keep_')} {d[k]}"
                        for k in ("keep_hourly", "keep_monthly") if d.get(k))
        return (f"keep last {d['keep_last']}, daily {d['keep_daily']}, weekly "
                f"{d['keep_weekly']}{extra}")
    if "cron" in d:
        return f"cron {d['cron']}"
    return f"{d.get('start', '')} .. {d.get('end', '')}".strip(" .")


def as_table(occurrences: Sequence[Occurrence], header: Sequence[str]) -> str:
    lines = [f"# {h}" for h in header]
    rows = [(f"{o.at:%a %Y-%m-%d %H:%M %Z}", short(o.type), o.subject, detail(o))
            for o in occurrences]
    titles = ("WHEN", "EVENT", "SUBJECT", "DETAIL")
    widths = [max([len(titles[i]), *(len(r[i]) for r in rows)]) for i in range(3)]
    for row in [titles, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
                     + "  " + row[3])
    return "\n".join(lines)


def as_ics(occurrences: Sequence[Occurrence], stamp: datetime, name: str) -> bytes:
    """One zero-length VEVENT per firing; `stamp` is the DTSTAMP (the caller's clock)."""
    import icalendar  # here: only `-o ics` loads it, not every classops command

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//classops//plan//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for o in occurrences:
        event = icalendar.Event()
        event.add("uid", f"{o.id}/classops")
        event.add("dtstamp", stamp)
        event.add("dtstart", o.at)
        event.add("summary", f"{short(o.type)} {o.subject}")
        event.add("categories", [short(o.type)])
        event.add("description", json.dumps(o.data, sort_keys=True))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
