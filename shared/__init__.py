"""classops common code, one folder per layer (see the README's Design section).

Cross-cutting modules sit here (`settings`, `logs`, `metrics`; they import no other layer). Below
them, inward to outward: `events`, `timetable` (pure), `handlers` (what `functions/` sees),
`actions` (what handlers return, and the executor), `ports` (one per external system), `stack`
(the hub stack), `runtime` (`classops serve`) and `cli`. Only `runtime` and `cli` import `runtime`
or `cli`; nothing here imports `functions/` (the runtime and the CLI load it by name); the layer
rules are checked by tests/core/test_layers.py.
"""
