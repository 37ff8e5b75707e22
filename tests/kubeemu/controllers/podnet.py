"""A stub that answers HTTP at a Ready single-user pod's IP and port, so a hub sees it come up.

In a cluster, KubeSpawner's pod runs `jupyterhub-singleuser`, and the hub waits until
`http://<podIP>:<port>/user/<name>/` answers before it calls the server ready. Here no container
runs, so this controller listens in its place: for every pod matching `selector` (by default
KubeSpawner's `component=singleuser-server`) that is Running and Ready and not being deleted, it
binds each declared TCP `containerPort` on the pod's IP (a loopback address: see `addresses.py`)
and answers any request with 200 and `{"pod", "user", "path"}` (the user from the pod's
`JUPYTERHUB_USER`), plus `headers` (e.g. `X-JupyterHub-Version`, which the hub checks). When
the pod stops being Ready, or goes, the port is closed: a hub polling it then sees it gone.

One thread serves every listening socket through a selector, so 300 students cost 300 sockets,
not 300 threads. A port that cannot be bound (another emulator on this machine handing out the
same pod IPs: give it a `pod_network` of its own) is recorded once in `errors`.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ..selectors import labels_match, parse_label_selector
from ..store import Obj
from .base import Controller
from .pods import spec, status, terminating

if TYPE_CHECKING:
    from ..emulator import Emulator

Endpoint = tuple[str, int]


def _ready(pod: Obj) -> bool:
    conditions = status(pod).get("conditions") or []
    return status(pod).get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _user(pod: Obj) -> str:
    for c in spec(pod).get("containers") or []:
        for env in c.get("env") or []:
            if env.get("name") == "JUPYTERHUB_USER":
                return str(env.get("value", ""))
    return ""


class PodNet(Controller):
    name = "podnet"

    def __init__(self, emu: Emulator, selector: str = "component=singleuser-server",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(emu)
        self.pods = self.resource("", "pods")
        self.selector = parse_label_selector(selector)
        self.headers = dict(headers or {})
        self._selector = selectors.DefaultSelector()
        self._open: dict[Endpoint, tuple[socket.socket, Obj]] = {}  # endpoint -> socket, pod
        self._failed: set[Endpoint] = set()
        self._lock = threading.Lock()
        self._server: threading.Thread | None = None
        self.served = 0  # requests answered, for a test to see the hub really asked

    def serving(self) -> dict[Endpoint, str]:
        """Each open endpoint and the `namespace/name` of its pod."""
        with self._lock:
            return {ep: f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                    for ep, (_, p) in self._open.items()}

    def start(self) -> None:
        super().start()
        if self._server is None:
            self._server = threading.Thread(target=self._serve, name="kubeemu-podnet-http",
                                            daemon=True)
            self._server.start()

    def stop(self) -> None:
        super().stop()
        thread, self._server = self._server, None
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            for ep in list(self._open):
                self._close(ep)

    # -- which endpoints should answer -------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        want: dict[Endpoint, Obj] = {}
        for pod in self.items(self.pods):
            ip = status(pod).get("podIP")
            if not ip or terminating(pod) or not _ready(pod) or not labels_match(
                    self.selector, pod):
                continue
            for c in spec(pod).get("containers") or []:
                for port in c.get("ports") or []:
                    if port.get("protocol", "TCP") == "TCP" and port.get("containerPort"):
                        want[(ip, int(port["containerPort"]))] = pod
        with self._lock:
            for ep in set(self._open) - set(want):
                self._close(ep)
            for ep, pod in want.items():
                if ep in self._open:
                    self._open[ep] = (self._open[ep][0], pod)
                elif ep not in self._failed:
                    self._listen(ep, pod)
            self._failed &= set(want)  # a pod that went and came back may try again

    def _listen(self, ep: Endpoint, pod: Obj) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The stub closes each connection first, leaving it in TIME_WAIT on this address: a pod
        # that comes back on the same IP (or the next run) must still be able to listen.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(ep)
            sock.listen(64)
        except OSError as exc:
            sock.close()
            self._failed.add(ep)
            self.errors.append(f"podnet: cannot listen on {ep[0]}:{ep[1]} for pod "
                               f"{pod['metadata']['name']}: {exc}")
            return
        sock.setblocking(False)
        self._open[ep] = (sock, pod)
        self._selector.register(sock, selectors.EVENT_READ, ep)

    def _close(self, ep: Endpoint) -> None:
        sock, _ = self._open.pop(ep)
        self._selector.unregister(sock)
        sock.close()

    # -- answering ---------------------------------------------------------------------------------
    def _serve(self) -> None:
        while self._server is not None:
            with self._lock:
                empty = not self._open
            if empty:  # epoll with nothing registered would return at once
                self._stop.wait(self.tick)
                continue
            for key, _ in self._selector.select(timeout=self.tick):
                with self._lock:
                    found = self._open.get(key.data)
                    if found is None or found[0] is not key.fileobj:
                        continue  # closed since select() returned
                    sock, pod = found
                    try:
                        conn, _ = sock.accept()
                    except OSError:
                        continue
                threading.Thread(target=self._answer, args=(conn, pod), daemon=True).start()

    def _answer(self, conn: socket.socket, pod: Obj) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                parts = data.split(b"\r\n", 1)[0].decode("latin-1").split()
                path = parts[1] if len(parts) > 1 else "/"
                body = json.dumps({"pod": pod["metadata"]["name"], "user": _user(pod),
                                   "path": path}).encode()
                head = ["HTTP/1.1 200 OK", "Content-Type: application/json",
                        f"Content-Length: {len(body)}", "Connection: close",
                        *(f"{k}: {v}" for k, v in self.headers.items())]
                conn.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + body)
                self.served += 1
            except OSError:
                return
