"""Pure backup logic (no I/O): snapshot names, labels and annotations (`naming`), KubeSpawner's
label slugs (`slugs`) and restic-style retention (`policy`). `functions/snapshots.py` and
`functions/retention.py` decide with it; the ledger and the CLI read snapshots back with it.
"""
