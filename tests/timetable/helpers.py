"""Small timetables written as YAML text, so tests read like the file an operator writes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.timetable import Timetable, loads

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parents[2]
NY = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")

FALL = """\
course: cs101
term:
  name: fall-2026
  start: 2026-08-31
  end: 2026-12-18
  timezone: America/New_York
class:
  size: 200
  sections:
    - name: lab-a
      size: 100
    - name: lab-b
      size: 100
"""

LECTURES = """\
meetings:
  - name: lecture
    kind: lecture
    days: [mon, wed, fri]
    start: "10:10"
    end: "11:00"
"""


def timetable(text: str, base_dir: Path = DATA) -> Timetable:
    return loads(text, "test.yaml", base_dir)


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)
