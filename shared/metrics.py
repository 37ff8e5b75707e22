"""Prometheus metrics of classops, in a registry the caller owns (never the global one), so a
test or a second executor counts on its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.actions = Counter("classops_actions", "Actions done, by action and outcome "
                               "(changed, unchanged, failed)", ["action", "outcome"], registry=r)
        self.action_seconds = Histogram("classops_action_seconds", "Time to do one action, "
                                        "retries included", ["action"], registry=r)
        self.retries = Counter("classops_retries", "Calls retried, by system and status",
                               ["system", "status"], registry=r)
        self.handlers = Counter("classops_handler_outcomes", "Handler runs, by handler and "
                                "outcome (ok, retry, failed)", ["handler", "outcome"], registry=r)
        self.watch_events = Counter("classops_watch_events", "Watch event runs, by how they "
                                    "ended (ok, retry, failed, gave_up; coalesced: replaced "
                                    "by a newer one before a level-triggered handler ran)",
                                    ["outcome"], registry=r)
        self.ledger_writes = Counter("classops_ledger_writes", "Ledger batches written, by "
                                     "store (s3, summary, webhook) and outcome (ok, failed)",
                                     ["store", "outcome"], registry=r)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 if never counted): for tests and `classops status`."""
        found = self.registry.get_sample_value(name, labels)
        return found or 0.0
