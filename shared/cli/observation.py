"""What `classops plan` runs against: a cluster it reads, or none, assumed.

- `assumed`: no cluster. The class's full size, nobody running, the default lead time; the
  handlers get `no_cluster` readers and the timetable is the file's.
- `observed`: a cluster (`--kubeconfig`, `$KUBECONFIG`, `$CLASSOPS_KUBECONFIG` or a pod's own
  ServiceAccount). The handlers get the live read ports (`runtime.connecting.live`), so they see
  the servers really running, and the timetable gets the live calendar overlay that `serve`
  keeps (`runtime.schedule.overlay`), so a cancelled lecture's firings are gone from the plan too.

Either way the handlers' clock is the firing's own time, and `note` is the plan header's second
line, saying which of the two it is. The Kubernetes client loads only for `observed`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.handlers.context import Context, no_cluster
from shared.logs import bind
from shared.runtime.schedule import overlay
from shared.settings import Settings
from shared.timetable import Timetable

Contexts = Callable[[datetime, logging.Logger], Context]  # a handler's context at a firing


@dataclass(frozen=True)
class View:
    timetable: Timetable  # the file's, with the live overlay laid over it when observed
    note: str  # what the plan assumed or read, for its header
    context: Contexts
    close: Callable[[], None] = lambda: None


def _registered(handlers: int) -> str:
    return f"{handlers} handler{'' if handlers == 1 else 's'} registered"


def assumed(timetable: Timetable, settings: Settings, handlers: int) -> View:
    minutes = int(timetable.knobs.lead_time.total_seconds() // 60)
    note = (f"no cluster: assuming {timetable.enrolment.size} students, nobody running, "
            f"default lead time {minutes}m; {_registered(handlers)}")
    return View(timetable, note, lambda at, log: no_cluster(settings, at, log))


def observed(timetable: Timetable, settings: Settings, handlers: int) -> View:
    """Read the cluster of `settings.kubeconfig` (None: in a pod, else the default kubeconfig);
    raises `ApiError` when it cannot be read."""
    from shared.ports.kube import context_name, default_namespace
    from shared.runtime.connecting import live

    namespace = settings.namespace or default_namespace(settings.kubeconfig)
    settings = dataclasses.replace(settings, namespace=namespace)
    found = live(settings, lambda: datetime.now(UTC))
    try:
        changes = overlay.read(found.context.kube, namespace)
        state = f"{len(changes)} changes"
        timetable = overlay.apply(timetable, changes)
    except ValueError as err:  # a bad overlay: as the scheduler does, the file's timetable
        state = f"not applied ({err})"
    except Exception:
        found.ports.kube.close()
        raise
    note = (f"cluster: {context_name(settings.kubeconfig)}/{namespace}; overlay: {state}; "
            f"{_registered(handlers)}")

    def context(at: datetime, log: logging.Logger) -> Context:
        return dataclasses.replace(found.context, clock=lambda: at, log=bind(log))

    return View(timetable, note, context, found.ports.kube.close)
