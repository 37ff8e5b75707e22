"""The official Kubernetes client, imported without what classops never uses.

`import kubernetes` runs the package's `__init__`, which imports `kubernetes.dynamic`, which
imports `kubernetes_validate` when it is installed (it is, beside the tests: the emulator serves
its schemas). That pulls in jsonschema and rfc3987_syntax, whose grammar takes 1-5 s to build on
a 2-core machine: most of what `classops status` and `check` cost as fresh processes
(`bench/status_check.py`). classops never uses the dynamic client, so the import runs with
`kubernetes_validate` marked absent (the dynamic client reads that as "not installed"), and the
mark is removed at once: a later `import kubernetes_validate` (the emulator's) works as usual.
"""

from __future__ import annotations

import sys

if "kubernetes" not in sys.modules:
    _blocked = "kubernetes_validate" not in sys.modules
    if _blocked:
        sys.modules["kubernetes_validate"] = None  # type: ignore[assignment]
    try:
        import kubernetes  # noqa: F401
    finally:
        if _blocked:
            del sys.modules["kubernetes_validate"]

from kubernetes import client, config

__all__ = ["client", "config"]
