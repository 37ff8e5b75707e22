"""The handler registry: `@on(type)` and `@on_watch(kind=..., labels=...)`.

As in kopf, a decorator builds a frozen dataclass (`EventHandler`, `WatchHandler`), adds it to a
registry (the default one unless `registry=` is given) and returns the function unchanged, so a
handler stays a plain function in its tests. `load("functions")` imports the functions package and
all its modules by name: `shared/` never imports `functions/` statically, and a test builds a
`Registry()` of its own.

A handler is `fn(event, ctx) -> list[Action]`. It decides; it writes nothing. It raises
`TemporaryError(msg, delay=...)` to be retried later, `PermanentError` to give up.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from shared.events import SCHEMAS, WATCH_ACTIONS, ClassEvent, Event, WatchEvent, watch_type

if TYPE_CHECKING:
    from shared.actions.model import Action
    from shared.handlers.context import Context

HandlerFn = Callable[[Any, "Context"], "Sequence[Action]"]
F = TypeVar("F", bound=Callable[..., Any])


class TemporaryError(Exception):
    """Retry this handler for this event after `delay` seconds."""

    def __init__(self, message: str, delay: float = 60.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """This handler cannot succeed for this event; do not retry."""


@dataclass(frozen=True)
class EventHandler:
    fn: HandlerFn
    id: str
    type: str

    def matches(self, event: Event) -> bool:
        return isinstance(event, ClassEvent) and event.type == self.type


@dataclass(frozen=True)
class WatchHandler:
    """Called for watch events on `kind` of `group` (`core` for the core API) whose labels
    match `labels` (a value of None: the key is present), for the given actions. A `coalesce`
    handler is level-triggered: it reads what is current, so serve runs it once for a burst of
    events, with the newest (`shared.runtime.coalescing`)."""

    fn: HandlerFn
    id: str
    kind: str
    group: str = "core"
    labels: Mapping[str, str | None] = field(default_factory=dict)
    actions: tuple[str, ...] = WATCH_ACTIONS
    coalesce: bool = False

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(watch_type(self.group, self.kind, a) for a in self.actions)

    @property
    def label_selector(self) -> str:
        """The selector a watch for this handler asks the API server for."""
        return ",".join(k if v is None else f"{k}={v}" for k, v in sorted(self.labels.items()))

    def matches(self, event: Event) -> bool:
        if not isinstance(event, WatchEvent) or event.type not in self.types:
            return False
        labels = event.object.labels
        return all(k in labels and (v is None or labels[k] == v) for k, v in self.labels.items())


Handler = EventHandler | WatchHandler


class Registry:
    """Handlers in registration order; ids are unique (a duplicate is a mistake, not an
    override)."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def add(self, handler: Handler) -> None:
        if any(h.id == handler.id for h in self._handlers):
            raise ValueError(f"a handler with id {handler.id!r} is registered already")
        self._handlers.append(handler)

    def __iter__(self) -> Iterator[Handler]:
        return iter(list(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)

    def handlers_for(self, event: Event) -> list[Handler]:
        return [h for h in self._handlers if h.matches(event)]

    def watches(self) -> list[WatchHandler]:
        return [h for h in self._handlers if isinstance(h, WatchHandler)]

    def only(self, keep: Callable[[Handler], bool]) -> Registry:
        """A registry of the handlers `keep` accepts, in the same order."""
        found = Registry()
        found._handlers = [h for h in self._handlers if keep(h)]
        return found


DEFAULT = Registry()


def _chosen(registry: Registry | None) -> Registry:
    # `registry or DEFAULT` would pick the default for an empty registry (it has a length).
    return DEFAULT if registry is None else registry


def _id(fn: Callable[..., Any], given: str | None) -> str:
    return given or f"{fn.__module__}.{fn.__qualname__.replace('<locals>.', '')}"


def on(event_type: str, *, id: str | None = None,
       registry: Registry | None = None) -> Callable[[F], F]:
    """Register `fn` for a catalogue type, e.g. `@on("edu.classops.meeting.warmup")`."""
    if event_type not in SCHEMAS:
        raise ValueError(f"{event_type!r} is not in the event catalogue; for watch events use "
                         f"@on_watch")

    def register(fn: F) -> F:
        _chosen(registry).add(EventHandler(fn, _id(fn, id), event_type))
        return fn

    return register


def on_watch(*, kind: str, group: str = "core", labels: Mapping[str, str | None] | None = None,
             actions: Sequence[str] = WATCH_ACTIONS, id: str | None = None,
             coalesce: bool = False, registry: Registry | None = None) -> Callable[[F], F]:
    """Register `fn` for changes of a kind, e.g.
    `@on_watch(kind="PersistentVolumeClaim", labels={"component": "singleuser-storage"})`;
    `coalesce=True` for a handler that reads the cluster's current state (see WatchHandler)."""
    for action in actions:
        watch_type(group, kind, action)  # refuses an unknown action now, not at the first event

    def register(fn: F) -> F:
        _chosen(registry).add(WatchHandler(fn, _id(fn, id), kind.lower(), group,
                                               dict(labels or {}), tuple(actions), coalesce))
        return fn

    return register


def load(package: str = "functions", registry: Registry | None = None) -> Registry:
    """Import `package` and every module in it, so their decorators fill the registry.

    Decorators register into the default registry unless told otherwise; `registry` is what the
    caller gets back (the default one unless given).
    """
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{package}."):
        importlib.import_module(info.name)
    return _chosen(registry)
