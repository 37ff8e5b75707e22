"""What `classops teardown` costs per student: the survey and plan (every final archive
re-read and hashed), then `--confirm` (each user's snapshots and PVC deleted, a record written),
and the Kubernetes requests per student, on the emulator and SeaweedFS.

Run: .venv/bin/python -m bench.teardown [--users 500]
Prints one line per figure; bench/README.md keeps the last measured ones.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from shared.cli.main import build_parser
from tests.conftest import new_kube
from tests.kubeemu import Emulator
from tests.servers.fixtures import S3Bucket
from tests.servers.seaweed import SeaweedS3
from tests.teardown.term import Term, schedule_file


def run(term: Term, *flags: str) -> float:
    args = build_parser().parse_args(["teardown", "--schedule", str(term.schedule),
                                      "--namespace", term.ns, "-o", "json", *flags])
    args.api_client, args.s3, args.hub, args.registry = term.cluster.api, term.s3, None, None
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = args.func(args)
    assert code == 0, code
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=500)
    n = parser.parse_args().users
    emu = Emulator().start()
    s3 = SeaweedS3()
    try:
        endpoint = s3.start()
        with tempfile.TemporaryDirectory() as tmp:
            client = endpoint.client()
            client.create_bucket(Bucket="bench-teardown")
            term = Term(new_kube(emu, Path(tmp)), S3Bucket("bench-teardown", client, endpoint),
                        schedule_file(Path(tmp)), [])
            began = time.perf_counter()
            for i in range(n):
                term.add_user(f"u{i:05d}")
            term.write_index()
            print(f"set up {n} users (PVC, 2 snapshots, archive, manifest): "
                  f"{time.perf_counter() - began:.1f} s")
            start = len(emu.requests())
            plan = run(term)
            planned = len(emu.requests()) - start
            print(f"teardown (plan, every archive re-hashed): {plan:.2f} s, "
                  f"{plan / n * 1000:.1f} ms per user, {planned} Kubernetes requests")
            start = len(emu.requests())
            done = run(term, "--confirm")
            confirmed = len(emu.requests()) - start
            print(f"teardown --confirm: {done:.2f} s, {done / n * 1000:.1f} ms per user, "
                  f"{confirmed / n:.1f} Kubernetes requests per user")
            again = run(term, "--confirm")
            print(f"teardown --confirm again (all done): {again:.2f} s")
            assert not term.alive()
    finally:
        s3.stop()
        emu.stop()


if __name__ == "__main__":
    main()
