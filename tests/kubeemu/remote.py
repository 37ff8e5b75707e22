"""The emulator's control interface for another process: the same verbs over `/_emu/` HTTP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class RemoteControl:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, what: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_emu/{what}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "clock")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "clock", {"advance": seconds})

    def set_clock(self, iso: str) -> dict[str, Any]:
        return self._call("POST", "clock", {"set": iso})

    def set_rate(self, rate: float) -> dict[str, Any]:
        return self._call("POST", "clock", {"rate": rate})

    def fail(self, verb: str, path: str, status: int, count: int = 1,
             retry_after: int | None = None, message: str = "") -> None:
        self._call("POST", "faults", {"verb": verb, "path": path, "status": status,
                                      "count": count, "retryAfter": retry_after,
                                      "message": message})

    # -- volumes, snapshots and Jobs (controllers/storage_control.py) ----------------------------
    def volume_folder(self, namespace: str, claim: str) -> str:
        """The local folder behind a Bound claim (the emulator must be on this machine)."""
        return str(self._call("GET", f"volumes/{namespace}/{claim}")["path"])

    def snapshot_folder(self, namespace: str, name: str) -> str:
        return str(self._call("GET", f"snapshots/{namespace}/{name}")["path"])

    def fill_volume(self, namespace: str, claim: str, full: bool = True) -> None:
        self._call("POST", "volumes/fill", {"namespace": namespace, "claim": claim,
                                            "full": full})

    def fail_snapshot(self, namespace: str, snapshot: str | None = None,
                      claim: str | None = None, message: str = "") -> None:
        self._call("POST", "snapshots/fail", {"namespace": namespace, "snapshot": snapshot,
                                              "claim": claim, "message": message})

    def kill_pod(self, namespace: str, name: str) -> None:
        """Kill a Job pod's running process half way (the pod ends Failed, exit code 137)."""
        self._call("POST", "pods/kill", {"namespace": namespace, "name": name})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def add_latency(self, seconds: float, verb: str = "*", path: str = "") -> None:
        self._call("POST", "latency", {"seconds": seconds, "verb": verb, "path": path})

    def cut_watches(self) -> None:
        self._call("POST", "watches/cut", {})

    def compact(self, keep: int = 0) -> int:
        return int(self._call("POST", "compact", {"keep": keep})["compactedRevision"])

    def set_history_window(self, changes: int) -> None:
        self._call("POST", "history", {"window": changes})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def vanish_node(self, name: str) -> list[str]:
        """The node goes with its pods at once; the pods' "namespace/name"."""
        return list(self._call("POST", "nodes/vanish", {"name": name})["pods"])
