"""The warm-up's pure part (issue 14): placeholder sizing, lead time and attendance.

No I/O and no clock: `functions/warmup.py` reads the cluster, calls these with numbers and
instants, and returns Actions. `knobs` holds the `warmup:` section of `schedules.yaml`; importing
this package registers it (as importing `shared.stack` registers `hub:`).
"""

from shared.warmup import knobs  # registers the `warmup:` section of schedules.yaml

__all__ = ["knobs"]
