"""Layers: `functions/` imports no SDK (it reads through the context), `shared/` never imports
`functions/` statically (the runtime loads it by name)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_FUNCTIONS = {"kubernetes", "boto3", "botocore", "flask", "requests", "urllib3"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _offending(root: str, forbidden: set[str]) -> list[str]:
    return [f"{path.relative_to(REPO)}: {name}"
            for path in sorted((REPO / root).rglob("*.py"))
            for name in sorted(_imports(path)) if name.split(".")[0] in forbidden]


def test_functions_import_no_sdk() -> None:
    assert list((REPO / "functions").rglob("*.py")), "the functions package is missing"
    assert _offending("functions", FORBIDDEN_IN_FUNCTIONS) == []


def test_shared_never_imports_functions() -> None:
    assert _offending("shared", {"functions"}) == []


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom kubernetes import client\nimport boto3.session\n")
    assert _imports(bad) == {"os", "kubernetes", "boto3.session"}
