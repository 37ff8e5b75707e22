"""Actions: what a handler decided, as frozen dataclasses (`model`), and who does them.

`model` is the list of Action types (pure, imports only `events`); `applying` holds one applier
per Action type, written against the ports; `executor` runs a list of Actions through the
appliers (or, dry, prints them). A new Action type goes into `model` and its applier into
`applying`, each in one block marked with its capability. May import `events`, `ports`, `logs`,
`metrics` and the pure packages (e.g. `backup.naming`'s keys); never `handlers`' callers,
`runtime` or `cli`.
"""
