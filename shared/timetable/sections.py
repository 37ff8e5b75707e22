"""The registry of top-level sections: each capability owns one key of `schedules.yaml`.

The timetable registers its own sections (`term`, `meetings`, `backup`, ...); a later capability
adds its key the same way, so the schema grows without one part refusing another's keys:

    @section("hub")
    def parse_hub(node: Node) -> HubSettings | None:
        if not node.keys(allowed=("image", "cpu")):
            return None
        ...

A parser gets the section's `Node`, records problems on it and returns its value (None when it
could not). A section lists the sections it `needs`; those are parsed first, so it may read
their values from `node.ctx.parsed` (the meetings need the term's timezone and the class).
The decorator returns the function unchanged, so a parser stays a plain function in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .fields import Node

Parser = Callable[[Node], Any]


@dataclass(frozen=True)
class Section:
    name: str
    parse: Parser
    required: bool = False
    needs: tuple[str, ...] = ()


class Registry:
    """Top-level sections by name, in the order they were registered."""

    def __init__(self) -> None:
        self._sections: dict[str, Section] = {}

    def add(self, entry: Section) -> None:
        if entry.name in self._sections:
            raise ValueError(f"section {entry.name!r} is already registered")
        self._sections[entry.name] = entry

    def __iter__(self) -> Iterator[Section]:
        """Every section after the ones it needs, otherwise in registration order."""
        done: dict[str, Section] = {}

        def visit(entry: Section, path: tuple[str, ...]) -> None:
            if entry.name in done:
                return
            if entry.name in path:
                raise ValueError(f"sections need each other: {' -> '.join(path)}")
            for need in entry.needs:
                if need in self._sections:
                    visit(self._sections[need], (*path, entry.name))
            done[entry.name] = entry

        for entry in list(self._sections.values()):
            visit(entry, ())
        return iter(list(done.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._sections

    def names(self) -> list[str]:
        return list(self._sections)

    def copy(self) -> Registry:
        """A registry with the same sections, for a test or a tool that adds its own."""
        other = Registry()
        for entry in self:
            other.add(entry)
        return other


SECTIONS = Registry()


def section(name: str, *, required: bool = False, needs: tuple[str, ...] = (),
            registry: Registry | None = None) -> Callable[[Parser], Parser]:
    """Register the decorated function as the parser of top-level key `name`."""

    def register(fn: Parser) -> Parser:
        (SECTIONS if registry is None else registry).add(Section(name, fn, required, needs))
        return fn

    return register
