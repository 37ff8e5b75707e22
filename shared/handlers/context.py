"""What a handler receives beside the event: settings, read-only ports, the clock, a logger.

The context is built once by the runtime (or the CLI) and re-bound per event and handler, so
the logger carries the event id. `no_cluster()` is the context of `classops plan`: empty readers,
a fixed clock and the settings the operator gave.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.handlers.readers import (
    EmptyBucket,
    EmptyCluster,
    EmptyHub,
    HubReader,
    KubeReader,
    S3Reader,
)
from shared.logs import Bound, bind
from shared.settings import Settings

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Context:
    settings: Settings
    kube: KubeReader
    hub: HubReader
    s3: S3Reader
    clock: Clock
    log: Bound = field(default_factory=lambda: bind(logging.getLogger("classops")))
    assumed: bool = False  # True: the readers are "no cluster" stand-ins (a plan, not a run)

    def bound(self, **fields: str) -> Context:
        return dataclasses.replace(self, log=bind(self.log, **fields))


def no_cluster(settings: Settings, now: datetime, log: logging.Logger | None = None) -> Context:
    return Context(settings=settings, kube=EmptyCluster(), hub=EmptyHub(), s3=EmptyBucket(),
                   clock=lambda: now, log=bind(log or logging.getLogger("classops")),
                   assumed=True)
