"""The hub stack: render the z2jh-compatible manifests from the course config, plan, deploy.

Modules: `config` (the `hub:` settings and pinned versions, data only), `labels`, the renderers
(`hub`, `proxy`, `scheduling`, `network`, `admin`), `rendering` (all of them, as one list),
`secrets` (generated once, never re-rendered), `planning` (pure diff), `deploying` (I/O).
This package imports nothing from `shared.timetable` at import time, so the timetable's `hub`
section can import `config` without a cycle.
"""
