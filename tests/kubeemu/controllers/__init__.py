"""Controllers that make the emulator a living cluster ("Test bed 3"), each switchable per test.

- `scheduler`: binds pending pods (spread or pack) and pre-empts for priority; brings the
  Priority admission plugin (`scheduling.py`, `priority.py`);
- `kubelet`: starts bound pods on the emulated clock with an image cache per node, ends deleted
  pods after their grace period, collects pods of vanished nodes (`kubelet.py`);
- `workloads`: Deployments through ReplicaSets, StatefulSets, DaemonSets (`workloads.py`,
  `deployments.py`, `statefulsets.py`, `daemonsets.py`);
- `disruption`: PodDisruptionBudget status, which the Eviction API (`eviction.py`, served by the
  apiserver whether or not controllers run) spends (`disruption.py`);
- `taints`: the taint eviction controller, evicting pods from nodes with NoExecute taints they
  do not tolerate, after `tolerationSeconds` on the clock (`taints.py`);
- `autoscaler`: a cluster-autoscaler model adding pool nodes for unschedulable pods after a
  provisioning and a NotReady time, and removing empty ones (`autoscaler.py`).

`Emulator(controllers=("scheduler", "kubelet", "workloads"))` or
`emu.enable_controllers("scheduler", kubelet={"pull_seconds": 30})` turn them on; none run by
default. Every controller reads time from `emu.clock`, so a test sets, advances or speeds the clock
instead of sleeping. Each one is a `base.Controller`: a thread that wakes on every store change
and on a short wall tick, started and stopped with the emulator.

Storage and batch (each PV, snapshot and Job log a local folder, `disk.py`):

- `volumes`: StorageClasses, the PV controller and a CSI provisioner (`volumes.py`); with the
  scheduler, its VolumeBinding plugin too;
- `snapshots`: the CSI snapshot controller, each snapshot a copy of its claim's folder
  (`snapshots.py`; needs `volumes`);
- `jobs`: the Job controller, each Job pod's first container run as a local process (`jobs.py`,
  `runner.py`, `logs.py`; needs `scheduler` and nodes; with `kubelet`, the process starts once
  the pod is Running). Their controls: `storage_control.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .autoscaler import NodeAutoscaler, NodePool
from .base import Controller
from .disruption import Disruption
from .jobs import Jobs
from .kubelet import Kubelet
from .priority import PriorityAdmission
from .scheduling import Scheduler
from .snapshots import Snapshots
from .taints import TaintEviction
from .volumes import Volumes
from .workloads import Workloads

if TYPE_CHECKING:
    from ..emulator import Emulator

NAMES = ("scheduler", "kubelet", "workloads", "disruption", "taints", "volumes", "snapshots",
         "jobs", "autoscaler")
_KINDS: dict[str, type[Controller]] = {"scheduler": Scheduler, "kubelet": Kubelet,
                                       "workloads": Workloads, "disruption": Disruption,
                                       "taints": TaintEviction, "volumes": Volumes,
                                       "snapshots": Snapshots, "jobs": Jobs,
                                       "autoscaler": NodeAutoscaler}

__all__ = ["NAMES", "Controller", "Disruption", "Jobs", "Kubelet", "NodeAutoscaler", "NodePool",
           "PriorityAdmission", "Scheduler", "Snapshots", "TaintEviction", "Volumes", "Workloads",
           "build"]


def build(emu: Emulator, names: Iterable[str],
          options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Controller]:
    """New controllers by name (keyword options per name), not yet started."""
    made = []
    for name in names:
        if name not in _KINDS:
            raise ValueError(f"no controller named {name!r}; expected one of {', '.join(NAMES)}")
        made.append(_KINDS[name](emu, **dict((options or {}).get(name, {}))))
    return made
