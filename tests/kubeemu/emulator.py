"""The emulator as one object: API server, store, clock and controls, started on 127.0.0.1.

`Emulator.start()` serves on an ephemeral port; `write_kubeconfig` writes what kubectl and
`kubernetes.config.load_kube_config` use; `api_client()` is a configured official client.
The control operations (clock, faults, latency, cut watches, compaction, request log) are methods
here and, for other processes, JSON endpoints under `/_emu/` (see `RemoteControl`).
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .auth import Authorizer
from .clock import Clock
from .control import Controls, RequestRecord
from .crds import CustomResources
from .lifecycle import Lifecycle
from .registry import Registry
from .resources import Catalogue
from .server import ApiServer, serve_forever_in_thread
from .store import ApiError, Store

if TYPE_CHECKING:
    import kubernetes.client

    from .server import Handler

BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, history_window: int = 100_000,
                 bookmark_interval: float = 5.0, admin_token: str | None = None,
                 controllers: tuple[str, ...] = (),
                 controller_options: dict[str, dict[str, Any]] | None = None) -> None:
        self.clock = Clock()
        self.store = Store(history_window)
        self.catalogue = Catalogue()
        self.registry = Registry(self.store, self.clock, self.catalogue)
        self.controls = Controls()
        self.bookmark_interval = bookmark_interval
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.tokens: dict[str, str] = {self.admin_token: "admin"}
        self.authorizer = Authorizer(self)
        # Who a request without credentials is: "admin", "system:anonymous" (authorised by RBAC)
        # or None (401). kubectl sends no token over plain HTTP.
        self.anonymous_user: str | None = "admin"
        # Controllers (Test bed 3) add themselves here: objects with start() and stop(), started
        # and stopped with the server.
        self.controllers: list[Any] = [Lifecycle(self)]
        self._address = (host, port)
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None
        ns = self.catalogue.find("", "v1", "namespaces")
        assert ns is not None
        for name in BOOTSTRAP_NAMESPACES:
            self.registry.create(ns, "", {"metadata": {"name": name}})
        self.custom_resources = CustomResources(self)
        self.custom_resources.install_bundled()
        self.authorizer.bootstrap()  # the default ClusterRoles and their bindings
        if controllers:
            self.enable_controllers(*controllers, **(controller_options or {}))

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Emulator:
        self._server = ApiServer(self._address, self)
        self._thread = serve_forever_in_thread(self._server)
        for controller in self.controllers:
            controller.start()
        return self

    def stop(self) -> None:
        for controller in reversed(self.controllers):
            controller.stop()
        if self._server is not None:
            self.store.cut_watches()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def enable_controllers(self, *names: str, **options: dict[str, Any]) -> list[Any]:
        """Turn on controllers by name ("scheduler", "kubelet", "workloads"; see
        `controllers/__init__.py`), with keyword options per name; started now if serving."""
        from .controllers import build

        made = build(self, names, options)
        self.controllers.extend(made)
        if self._server is not None:
            for controller in made:
                controller.start()
        return made

    def controller(self, name: str) -> Any:
        """The enabled controller of that name (e.g. `emu.controller("kubelet").pull_seconds`)."""
        return next(c for c in self.controllers if getattr(c, "name", "") == name)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Config", "current-context": "kubeemu",
            "clusters": [{"name": "kubeemu", "cluster": {"server": self.url}}],
            "users": [{"name": "admin", "user": {"token": self.admin_token}}],
            "contexts": [{"name": "kubeemu", "context": {
                "cluster": "kubeemu", "user": "admin", "namespace": namespace}}],
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.kubeconfig(namespace)))
        path.chmod(0o600)
        return path

    def api_client(self, token: str | None = None) -> kubernetes.client.ApiClient:
        """The official client as admin, or as whoever `token` is (e.g. `service_account_token`)."""
        import kubernetes.client

        config = kubernetes.client.Configuration()
        config.host = self.url
        config.api_key = {"authorization": token or self.admin_token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return kubernetes.client.ApiClient(config)

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        """A TokenRequest token for an existing ServiceAccount, as `kubectl create token` gets."""
        body = {"spec": {"expirationSeconds": seconds}}
        answer = self.authorizer.service_accounts.request(namespace, name, body)
        return str(answer["status"]["token"])

    # -- control --------------------------------------------------------------------------------
    def fail(self, verb: str, path: str, status: int, count: int = 1,
             retry_after: int | None = None, message: str = "") -> None:
        """Answer the next `count` requests matching verb and path (a regex) with `status`."""
        self.controls.fail(verb, path, status, count, retry_after, message)

    def add_latency(self, seconds: float, verb: str = "*", path: str = "") -> None:
        self.controls.add_latency(seconds, verb, path)

    def clear_faults(self) -> None:
        self.controls.clear_faults()

    def cut_watches(self) -> None:
        self.store.cut_watches()

    def compact(self, keep: int = 0) -> int:
        return self.store.compact(keep)

    def set_history_window(self, changes: int) -> None:
        self.store.history_window = changes
        self.store.compact(changes)

    def requests(self, since: float = 0.0) -> list[RequestRecord]:
        return self.controls.request_log(since)

    def clear_requests(self) -> None:
        self.controls.clear_requests()

    # -- nodes (nodes.py) -----------------------------------------------------------------------
    def add_nodes(self, count: int, **shape: Any) -> list[str]:
        """Register `count` Ready nodes (shape: cpu, memory, pods, labels, taints)."""
        from .nodes import add_nodes

        return add_nodes(self, count, **shape)

    def vanish_node(self, name: str) -> list[str]:
        """The node goes with its pods, at once; returns the pods' "namespace/name"."""
        from .nodes import vanish_node

        return vanish_node(self, name)

    # -- control over HTTP ----------------------------------------------------------------------
    def serve_control(self, handler: Handler, method: str, path: str, query: dict[str, str],
                      raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else {}
            answer = self._control(method, path.removeprefix("/_emu/").strip("/"), body)
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError(400, "BadRequest", f"bad control request: {exc}") from exc
        handler._send_json(200, answer)

    def _control(self, method: str, what: str, body: dict[str, Any]) -> Any:
        if what == "clock":
            if method == "POST":
                if "set" in body:
                    self.clock.set(datetime.fromisoformat(body["set"]))
                if "advance" in body:
                    self.clock.advance(float(body["advance"]))
                if "rate" in body:
                    self.clock.set_rate(float(body["rate"]))
            return {"now": self.clock.now().isoformat(), "rate": self.clock.rate}
        if what == "faults" and method == "POST":
            self.fail(body["verb"], body["path"], int(body["status"]), int(body.get("count", 1)),
                      body.get("retryAfter"), body.get("message", ""))
            return {"ok": True}
        if what == "faults" and method == "DELETE":
            self.clear_faults()
            return {"ok": True}
        if what == "latency" and method == "POST":
            self.add_latency(float(body["seconds"]), body.get("verb", "*"), body.get("path", ""))
            return {"ok": True}
        if what == "watches/cut" and method == "POST":
            self.cut_watches()
            return {"ok": True}
        if what == "compact" and method == "POST":
            return {"compactedRevision": self.compact(int(body.get("keep", 0)))}
        if what == "history" and method == "POST":
            self.set_history_window(int(body["window"]))
            return {"ok": True}
        if what == "nodes/vanish" and method == "POST":
            return {"pods": self.vanish_node(str(body["name"]))}
        if what == "requests" and method == "GET":
            return [r.to_dict() for r in self.requests()]
        if what == "requests" and method == "DELETE":
            self.clear_requests()
            return {"ok": True}
        answer = self._storage_control(method, what, body)
        if answer is not None:
            return answer
        raise ApiError(404, "NotFound", f"no control {method} /_emu/{what}")

    # -- volumes, snapshots and Jobs (controllers/storage_control.py) ----------------------------
    def _storage_control(self, method: str, what: str, body: dict[str, Any]) -> Any:
        from .controllers.storage_control import control

        return control(self, method, what, body)
