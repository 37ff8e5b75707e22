"""After term, pure: who is protected (`teardown:` in schedules.yaml), the term index's format,
the teardown plan (per user: delete, keep and why, re-archive first) and the report.

No I/O here: `shared.termend` reads the cluster, the bucket and the hub into `UserState`s,
`decisions.plan` decides, the executor acts. Importing the package registers the section.
"""

from shared.teardown import protection  # noqa: F401  (registers `teardown:` in schedules.yaml)
