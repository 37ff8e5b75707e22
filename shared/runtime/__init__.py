"""The runtime: `classops serve` (`server`, the composition root) and its parts.

`connecting` turns settings into ports and a live context; `leadership` elects one leader by a
Lease; `watching` lists-then-watches without losing events; `running` runs one event (dispatch,
execute, outcome); `retrying` retries watch-driven handlers; `coalescing` runs a level-triggered
one once per burst of events; `inbox/` stores received events in ConfigMaps, `webhook/` is the
HTTP face, `schedule/` fires the timetable on time. May import every layer below it (events,
handlers, actions, ports, timetable, stack); only `cli` imports it.
"""
