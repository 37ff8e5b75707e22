"""Layers: each folder of `shared/` imports only what its `__init__` allows, checked on the source.

- `functions/` imports only `shared.handlers`, `shared.actions`, `shared.events` and the pure
  packages (`PURE`), and no SDK (it reads through the context);
- nothing in `shared/` but `runtime/` and `cli/` imports `shared.runtime` or `shared.cli`;
- `shared/` never imports `functions/` statically (the runtime and the CLI load it by name);
- a pure package imports no port, no stack, no runtime, no CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_FUNCTIONS = {"kubernetes", "boto3", "botocore", "flask", "requests", "urllib3"}

# Packages of pure logic (no I/O, no port): `functions/` may import them. A capability that adds
# a pure package adds it here. The stack's pure modules are named one by one: `stack.deploy`,
# `stack.probes` and `stack.status` do I/O.
# copies (issue 16): key layout, manifests, the lifecycle rule, the drill's choice, copy Jobs
ARCHIVE_PURE = {"shared.archive.layout", "shared.archive.manifest", "shared.archive.lifecycle",
                "shared.archive.sampling", "shared.archive.copy_jobs"}
PURE = {
    "shared.timetable",
    "shared.timestamps",  # Kubernetes' timestamps read
    "shared.warmup",  # placeholder sizing, lead time, attendance
    "shared.backup",  # snapshot naming and labels, retention
    "shared.teardown",  # after term: protected users, the term index, the teardown plan, report
    "shared.stack.admin", "shared.stack.config", "shared.stack.labels", "shared.stack.manifests",
    "shared.stack.plan", "shared.stack.secrets", "shared.stack.hub_section",
    *ARCHIVE_PURE,
}
# What `functions/` sees besides the pure packages.
FOR_FUNCTIONS = {"shared.handlers", "shared.actions", "shared.events", *PURE}
# The outer layers: only they import themselves or each other.
OUTER = {"shared.runtime", "shared.cli"}
# What a pure package never imports.
IMPURE = {"shared.ports", "shared.stack", "shared.runtime", "shared.cli", "shared.handlers",
          "shared.actions"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from shared.stack import secrets` imports the module shared.stack.secrets
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if _is_module(name) else node.module)
    return found


def _is_module(name: str) -> bool:
    where = REPO.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _under(name: str, packages: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _module(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _offending(root: str, forbidden: set[str]) -> list[str]:
    return [f"{path.relative_to(REPO)}: {name}"
            for path in sorted((REPO / root).rglob("*.py"))
            for name in sorted(_imports(path)) if name.split(".")[0] in forbidden]


def _wrong_way(paths: list[Path], allowed: set[str] | None = None,
               forbidden: set[str] | None = None, root: Path = REPO) -> list[str]:
    """`path: module` for each import of a `shared` module outside `allowed` or inside
    `forbidden` (a module importing its own package's parts is always allowed)."""
    found = []
    for path in paths:
        package = _module(path, root).rsplit(".", 1)[0]
        for name in sorted(_imports(path)):
            if not name.startswith("shared.") or (
                    package != "shared" and name.startswith(package + ".")):
                continue
            if (allowed is not None and not _under(name, allowed)) or (
                    forbidden is not None and _under(name, forbidden)):
                found.append(f"{path.relative_to(root)}: {name}")
    return found


def _sources(*roots: str) -> list[Path]:
    return [p for root in roots for p in sorted((REPO / root).rglob("*.py"))]


def test_functions_import_no_sdk() -> None:
    assert list((REPO / "functions").rglob("*.py")), "the functions package is missing"
    assert _offending("functions", FORBIDDEN_IN_FUNCTIONS) == []


def test_functions_import_only_handlers_actions_events_and_pure_packages() -> None:
    assert _wrong_way(_sources("functions"), allowed=FOR_FUNCTIONS) == []


def test_nothing_below_imports_the_runtime_or_the_cli() -> None:
    below = [p for p in _sources("shared")
             if not _under(_module(p), OUTER) and _module(p) != "shared"]
    assert len(below) > 40
    assert _wrong_way(below, forbidden=OUTER) == []


def test_pure_packages_do_no_io() -> None:
    pure = [p for p in _sources("shared") if _under(_module(p), {"shared.timetable",
                                                                "shared.warmup", "shared.backup",
                                                                *ARCHIVE_PURE})]
    assert pure
    assert _wrong_way(pure, forbidden=IMPURE) == []


def test_shared_never_imports_functions() -> None:
    assert _offending("shared", {"functions"}) == []


def test_no_two_modules_share_a_name() -> None:
    names: dict[str, list[str]] = {}
    for path in _sources("shared", "functions"):
        if path.stem not in ("__init__", "model"):
            names.setdefault(path.stem, []).append(str(path.relative_to(REPO)))
    assert {k: v for k, v in names.items() if len(v) > 1} == {}


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom kubernetes import client\nimport boto3.session\n")
    assert _imports(bad) == {"os", "kubernetes", "boto3.session"}


def test_the_check_sees_a_wrong_way_import(tmp_path: Path) -> None:
    handler = tmp_path / "shared" / "handlers" / "bad.py"
    handler.parent.mkdir(parents=True)
    handler.write_text("from shared.handlers.context import Context\n"
                       "from shared.runtime.inbox.store import Inbox\n")
    function = tmp_path / "functions" / "bad.py"
    function.parent.mkdir()
    function.write_text("from shared.events import ClassEvent\nfrom shared.ports.kube import Kube\n"
                        "from shared.timetable import load\n")
    assert _wrong_way([handler], forbidden=OUTER, root=tmp_path) == [
        "shared/handlers/bad.py: shared.runtime.inbox.store"]
    assert _wrong_way([function], allowed=FOR_FUNCTIONS, root=tmp_path) == [
        "functions/bad.py: shared.ports.kube"]
