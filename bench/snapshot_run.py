"""`classops snapshot` over N students on the emulator (volumes + CSI snapshots controllers):
wall time of the whole run (list, N snapshots created and awaited, the ledger's summary), API
requests per PVC, at 1, 8 and 16 workers. No S3: the ledger keeps only its summary here.

    .venv/bin/python -m bench.snapshot_run [N]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from kubernetes import client

from shared.cli.backup_group import cmd_snapshot
from tests.backup.conftest import bound, course, user_pvc
from tests.conftest import new_kube
from tests.kubeemu import Emulator


def run(n: int, workers: int) -> tuple[float, float]:
    emu = Emulator(controllers=("volumes", "snapshots"), bookmark_interval=0.3,
                   controller_options={"volumes": {"binding_mode": "Immediate"}}).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kube = new_kube(emu, Path(tmp))
            course(kube)
            claims = [user_pvc(kube, f"student-{i:04d}")["metadata"]["name"] for i in range(n)]
            bound(kube, *claims)
            emu.clear_requests()
            os.environ["CLASSOPS_SNAPSHOT_WORKERS"] = str(workers)
            os.environ.pop("CLASSOPS_S3_BUCKET", None)
            args = argparse.Namespace(kubeconfig=None, namespace=kube.namespace, output="table",
                                      schedule=None, functions=None, registry=None,
                                      api_client=emu.api_client(), now=None, reason="bench",
                                      user="")
            started = time.perf_counter()
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                code = cmd_snapshot(args)
            took = time.perf_counter() - started
            assert code == 0
            ready = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(
                "snapshot.storage.k8s.io", "v1", kube.namespace, "volumesnapshots")["items"]
            assert len(ready) == n
            time.sleep(1.0)  # the emulator logs a watch once its stream has ended
            mine = [r for r in emu.requests() if f"/namespaces/{kube.namespace}/" in r.path]
            return took, len(mine) / n
    finally:
        emu.stop()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print(f"classops snapshot, {n} students, emulator with volumes + snapshots (ready at once)")
    print("| workers | wall time | per PVC | requests per PVC |")
    print("| --- | --- | --- | --- |")
    for workers in (1, 8, 16):
        took, per_pvc = run(n, workers)
        print(f"| {workers} | {took:.1f} s | {took / n * 1000:.0f} ms | {per_pvc:.2f} |")


if __name__ == "__main__":
    main()
