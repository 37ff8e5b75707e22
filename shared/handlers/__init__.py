"""Handlers: the registry (`@on`, `@on_watch`), the context a handler receives (`context`,
with the read-only `readers` Protocols), and `dispatching`, which runs every handler of an event.

This is what `functions/` sees, with `events` and `actions`. May import `events`, `actions.model`,
`settings`, `logs`, `metrics`; never `ports`, `runtime` or `cli` (a handler reads through the
readers and decides; it never does I/O itself).
"""
