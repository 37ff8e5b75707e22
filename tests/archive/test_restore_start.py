"""A one-student restore run as a command (`classops archive-worker --restore`) is mostly its
start-up, so it loads only what a restore uses: the S3 SDK; the
archive's reader, not the worker's packing side; no Kubernetes client, no ledger, no timetable.
Checked in a fresh interpreter, as an operator or a restore Job runs it (bench/README.md,
"Copies to S3", has the times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shared.archive.worker import archive_homes
from tests.servers.fixtures import S3Bucket

from .homes import make_home, port, tree
from .test_failures import env_for

REPO = Path(__file__).resolve().parents[2]
#: Packages (and our modules) that a restore must not load.
UNNEEDED = ("kubernetes", "yaml", "functions", "shared.ledger",
            "shared.timetable", "shared.events", "shared.handlers.readers",
            "shared.handlers.registry", "shared.handlers.context", "shared.actions",
            "shared.runtime", "shared.archive.worker", "shared.archive.packing")
PROBE = f"""
import json, sys
from shared.cli.main import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if any(m == u or m.startswith(u + ".") for u in {UNNEEDED}))
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


def test_a_restore_command_loads_no_sdk_nor_module_it_does_not_use(
        s3: S3Bucket, tmp_path: Path) -> None:
    home = make_home(tmp_path / "src", "alice")
    [copy] = archive_homes(port(s3), "cs101/fall-2026", [home])
    assert copy.status == "archived"
    back = tmp_path / "back"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "archive-worker", "--endpoint-url",
         s3.endpoint.endpoint_url, "--bucket", s3.name, "--prefix", "cs101/fall-2026",
         "--restore", "alice", "--into", str(back)],
        cwd=REPO, env=env_for(s3), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    *said, last = done.stdout.strip().splitlines()
    assert json.loads(last) == {"code": 0, "loaded": []}
    assert "matches its manifest" in said[-1] and tree(back) == tree(home.path)
