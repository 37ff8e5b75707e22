"""Events: the catalogue (types and data schemas), typed events, and their constructors.

    cloudevent = from_occurrence(occurrence)        # or from_watch(...), or the webhook's
    event = typed(cloudevent)                       # ClassEvent[MeetingData] | WatchEvent

`types` names every event type (a leaf), `catalogue` their data schemas, `model` the typed
events, `building` the constructors. May import only `timetable` (an Occurrence becomes an event);
everything else imports it.
"""

from .building import (
    UnknownEventType,
    api_path,
    from_occurrence,
    from_watch,
    group_of,
    typed,
)
from .catalogue import (
    BACKUP_COPY,
    BACKUP_DUE,
    CALENDAR_CHANGED,
    COOLDOWN,
    DEADLINE,
    DRILL_DUE,
    RETENTION_DUE,
    ROSTER_CHANGED,
    SCHEMAS,
    TERM_END,
    TERM_START,
    TIMETABLE_TYPES,
    WARMUP,
    WATCH_ACTIONS,
    BackupCopyData,
    BackupData,
    CalendarChangedData,
    DeadlineData,
    DrillData,
    EventDataError,
    MeetingData,
    RetentionData,
    RosterChangedData,
    Schema,
    TermData,
    parse_watch_type,
    watch_type,
)
from .model import ClassEvent, Event, KubeObject, WatchEvent

__all__ = [
    "BACKUP_COPY",
    "BACKUP_DUE",
    "CALENDAR_CHANGED",
    "COOLDOWN",
    "DEADLINE",
    "DRILL_DUE",
    "RETENTION_DUE",
    "ROSTER_CHANGED",
    "SCHEMAS",
    "TERM_END",
    "TERM_START",
    "TIMETABLE_TYPES",
    "WARMUP",
    "WATCH_ACTIONS",
    "BackupCopyData",
    "BackupData",
    "CalendarChangedData",
    "ClassEvent",
    "DeadlineData",
    "DrillData",
    "Event",
    "EventDataError",
    "KubeObject",
    "MeetingData",
    "RetentionData",
    "RosterChangedData",
    "Schema",
    "TermData",
    "UnknownEventType",
    "WatchEvent",
    "api_path",
    "from_occurrence",
    "from_watch",
    "group_of",
    "parse_watch_type",
    "typed",
    "watch_type",
]
