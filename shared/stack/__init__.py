"""The hub stack: the z2jh-compatible manifests rendered from the course config, planned, deployed.

`config` (the `hub:` settings and pinned versions, data only), `hub_section` (the `hub:` key of
`schedules.yaml`, registered with the timetable's `@section` when this package is imported),
`labels`, the renderers (`hub_component`, `proxy`, `user_pods`, `network`, `admin`), `manifests`
(all of them, as one list), `secrets` (generated once, never re-rendered), `plan` (pure diff),
`deploy` (I/O), `probes`/`verdicts` (`classops check`) and `status`. May import `timetable`,
`events`, `actions`, `ports`, `settings`, `logs`, `metrics`; never `runtime` or `cli`.
"""

from shared.stack import hub_section  # registers the `hub:` section of schedules.yaml

__all__ = ["hub_section"]
