"""A fast `classops` start: the CLI imports no SDK until a subcommand needs one.

`kubernetes` alone costs ~1 s to import (its dynamic client pulls in `kubernetes_validate` and
`jsonschema` when the test extra is installed), `boto3` and `matplotlib` more; `classops plan`
and `validate` need none of them. Each check runs in a fresh interpreter, as the operator does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = "{'kubernetes', 'boto3', 'matplotlib'}"


def _heavy_after(code: str) -> str:
    probe = (f"{code}\nimport sys\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY}))")
    # No cluster in the environment: a plan with one reads it through the client, on purpose.
    env = {k: v for k, v in os.environ.items()
           if k != "KUBECONFIG" and not k.startswith("KUBERNETES_SERVICE")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_cli_imports_no_sdk() -> None:
    assert _heavy_after("import shared.cli.main") == "[]"


def test_a_plan_and_a_validate_import_no_sdk() -> None:
    code = ("import contextlib, io\nfrom shared.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), "
            "contextlib.redirect_stderr(io.StringIO()):\n"
            "    assert main(['plan', '-o', 'json']) == 0\n"
            "    assert main(['validate']) == 0\n")
    assert _heavy_after(code) == "[]"
