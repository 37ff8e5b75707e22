"""The scheduler inside `classops serve`: `scheduler` (APScheduler firing the timetable, on the
leader only), `usefulness` (how late a firing is still worth doing, pure), `overlay` (calendar
changes laid over the timetable, and their ConfigMap) and `keeper` (the handler that keeps
them). May import `events`, `handlers`, `actions.model`, `ports`, `timetable` and
`runtime.inbox`/`runtime.watching`; never `cli`.
"""
