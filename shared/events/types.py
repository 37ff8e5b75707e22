"""The names of every CloudEvent type classops knows (the design's catalogue), in one place.

A leaf module: the timetable (which fires the timetable types) and the event catalogue (which
gives each type its data schema) both name types from here.
"""

PREFIX = "edu.classops."

WARMUP = "edu.classops.meeting.warmup"
COOLDOWN = "edu.classops.meeting.cooldown"
TERM_START = "edu.classops.term.start"
TERM_END = "edu.classops.term.end"
DEADLINE = "edu.classops.deadline"
BACKUP_DUE = "edu.classops.backup.due"
BACKUP_COPY = "edu.classops.backup.copy"
RETENTION_DUE = "edu.classops.retention.due"
DRILL_DUE = "edu.classops.drill.due"
CALENDAR_CHANGED = "edu.classops.calendar.changed"
ROSTER_CHANGED = "edu.classops.roster.changed"
