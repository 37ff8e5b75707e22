"""The Kubernetes port: the official client, spoken in plain JSON objects, any resource.

Requests go through the client's `ApiClient` (its auth, TLS and token refresh) but skip the typed
models: classops touches built-ins and CRDs (VolumeSnapshots) alike, and a handler reads a
`KubeObject`. Paths come from discovery (`/api/v1`, `/apis/<group>/<version>`), read once per
group-version.

Retries are the executor's alone. urllib3 under the client waits out a 429/503 that carries
Retry-After, but only for GET, PUT and DELETE, up to 3 times, and then raises `MaxRetryError`
instead of an `ApiException`; a POST or PATCH gets the 429 back at once. `Kube` therefore builds
its own `ApiClient` from the given one's configuration with status retries off (connection
retries stay), so every 429/5xx reaches the executor once, with its Retry-After, whatever the verb.

Server-side apply is `PATCH` with `application/apply-patch+yaml` (a JSON body is YAML),
`fieldManager` and `force`: one field manager per purpose (`classops` deploys, `classops-warmup`
scales), so the warm-up's replicas are never taken back by a redeploy.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from shared.events import KubeObject, api_path

from .errors import ApiError, retry_after
from .sdk import client, config

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PAGE = 500


def connect(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """In the cluster: the pod's service account; else the given (or default) kubeconfig."""
    if kubeconfig is None:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    return config.new_client_from_config(config_file=kubeconfig, context=context)


def default_namespace(kubeconfig: str | None = None) -> str:
    """The pod's own namespace in the cluster, else the kubeconfig context's (or `default`)."""
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip()
    except OSError:
        pass
    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError):
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")


def context_name(kubeconfig: str | None = None) -> str:
    """The kubeconfig's current context, or `in-cluster` when `connect` would use the pod's."""
    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError):
        return "in-cluster"
    return str((active or {}).get("name") or "default")


def without_status_retries(api: client.ApiClient) -> client.ApiClient:
    conf = copy.deepcopy(api.configuration)
    conf.retries = urllib3.Retry(total=3, connect=3, read=0, status=0, redirect=0,
                                 status_forcelist=(), respect_retry_after_header=False,
                                 raise_on_status=False)
    conf.client_go_retries = False
    return client.ApiClient(conf)


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        base = api_path(self.api_version, self.plural, name, namespace if self.namespaced else "")
        base = base.removesuffix("/")  # a collection: no name after the plural
        return f"{base}/{subresource}" if subresource else base


class Kube:
    def __init__(self, api: client.ApiClient, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.api = without_status_retries(api)
        self.sleep, self.monotonic = sleep, monotonic
        self._resources: dict[str, dict[str, Resource]] = {}

    def close(self) -> None:
        self.api.close()

    # -- plumbing -------------------------------------------------------------------------------
    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                body: Any = None, content_type: str = JSON,
                timeout: float | None = None) -> dict[str, Any]:
        headers = {"Accept": JSON, "Content-Type": content_type}
        params = [(k, str(v).lower() if isinstance(v, bool) else v)
                  for k, v in (query or {}).items() if v not in (None, "")]
        req = self.api.param_serialize(method, path, query_params=params, header_params=headers,
                                       body=body, auth_settings=["BearerToken"])
        try:
            resp = self.api.call_api(*req, _request_timeout=timeout)
            raw = resp.read()
        except urllib3.exceptions.HTTPError as err:
            raise ApiError("kubernetes", 0, "Unreachable", str(err)) from err
        answer = json.loads(raw) if raw else {}
        if not 200 <= resp.status < 300:
            status = answer if isinstance(answer, dict) else {}
            raise ApiError("kubernetes", resp.status, status.get("reason", ""),
                           status.get("message", ""), retry_after(resp.getheader("Retry-After")))
        return answer if isinstance(answer, dict) else {"items": answer}

    def stream(self, path: str, query: Mapping[str, Any],
               timeout: float) -> Generator[dict[str, Any], None, None]:
        """A watch: one JSON object per line until the server ends the stream. `timeout` is the
        client's read timeout, so a stream that went silent (no event, no BOOKMARK) raises
        `ApiError(0, "Timeout")` instead of hanging."""
        params = [(k, str(v).lower() if isinstance(v, bool) else v)
                  for k, v in query.items() if v not in (None, "")]
        req = self.api.param_serialize("GET", path, query_params=params,
                                       header_params={"Accept": JSON},
                                       auth_settings=["BearerToken"])
        try:
            resp = self.api.call_api(*req, _request_timeout=(timeout, timeout))
            if not 200 <= resp.status < 300:
                raw = resp.read()
                status = json.loads(raw) if raw else {}
                raise ApiError("kubernetes", resp.status, status.get("reason", ""),
                               status.get("message", ""))
            buffer, ended = b"", False
            try:
                for chunk in resp.response.stream(65536, decode_content=True):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield json.loads(line)
                ended = True
            except urllib3.exceptions.ProtocolError:
                return  # the connection ended mid-stream (a cut, a restart): the watch ended
            finally:
                if not ended:  # the caller stopped early: end the stream, not only our read
                    resp.response.close()
                resp.response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ApiError("kubernetes", 0, "Timeout" if "timed out" in str(err) else
                           "Unreachable", str(err)) from err

    def preferred_version(self, group: str) -> str:
        """`v1` for the core group, else the server's preferred `group/version`."""
        if group in ("", "core"):
            return "v1"
        answer = self.request("GET", f"/apis/{group}")
        return str(answer["preferredVersion"]["groupVersion"])

    def resource(self, api_version: str, kind: str) -> Resource:
        known = self._resources.get(api_version)
        if known is None:
            root = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            listing = self.request("GET", root)
            known = {r["kind"]: Resource(api_version, r["kind"], r["name"], r["namespaced"])
                     for r in listing.get("resources", []) if "/" not in r["name"]}
            self._resources[api_version] = known
        if kind not in known:
            raise ApiError("kubernetes", 404, "NotFound",
                           f"the server has no resource {kind} in {api_version}")
        return known[kind]

    def _path(self, api_version: str, kind: str, namespace: str, name: str = "",
              sub: str = "") -> str:
        return self.resource(api_version, kind).path(namespace, name, sub)

    # -- reads ----------------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str,
            namespace: str = "") -> KubeObject | None:
        try:
            return KubeObject(self.request("GET", self._path(api_version, kind, namespace, name)))
        except ApiError as err:
            if err.not_found:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str = "", label_selector: str = "",
             field_selector: str = "", page: int = PAGE) -> Iterator[KubeObject]:
        """Every match, a page at a time (one consistent snapshot, as `continue` gives)."""
        path, token = self._path(api_version, kind, namespace), ""
        while True:
            answer = self.request("GET", path, {"labelSelector": label_selector,
                                                "fieldSelector": field_selector,
                                                "limit": page, "continue": token})
            for item in answer.get("items", []):
                yield KubeObject({"apiVersion": api_version, "kind": kind, **item})
            token = (answer.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    def log(self, pod: str, namespace: str, container: str = "") -> str:
        """A pod's (first) container's log, as text (copies read a Job's summary from it)."""
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        req = self.api.param_serialize("GET", path, query_params=[("container", container)]
                                       if container else [], header_params={"Accept": "*/*"},
                                       auth_settings=["BearerToken"])
        try:
            resp = self.api.call_api(*req)
            raw = resp.read()
        except urllib3.exceptions.HTTPError as err:
            raise ApiError("kubernetes", 0, "Unreachable", str(err)) from err
        if not 200 <= resp.status < 300:
            raise ApiError("kubernetes", resp.status, "", raw[:200].decode(errors="replace"))
        return raw.decode(errors="replace")

    def wait_until(self, api_version: str, kind: str, name: str, namespace: str,
                   done: Callable[[KubeObject | None], bool], timeout: float,
                   interval: float = 1.0) -> KubeObject | None:
        """Poll until `done(object or None)`; `TimeoutError` after `timeout` seconds."""
        deadline = self.monotonic() + timeout
        while True:
            found = self.get(api_version, kind, name, namespace)
            if done(found):
                return found
            if self.monotonic() >= deadline:
                raise TimeoutError(f"{kind} {namespace}/{name} not done after {timeout:g} s")
            self.sleep(interval)

    def watch_until(self, api_version: str, kind: str, name: str, namespace: str,
                    done: Callable[[KubeObject | None], bool], timeout: float) -> KubeObject | None:
        """Watch one object (a field selector on its name) until `done(object or None)`:
        one request however long the wait, where polling would make one per interval (a
        deleted object is None). `TimeoutError` after `timeout` seconds."""
        deadline = self.monotonic() + timeout
        path = self._path(api_version, kind, namespace)
        found: KubeObject | None = None
        while True:
            left = deadline - self.monotonic()
            if left <= 0:
                raise TimeoutError(f"{kind} {namespace}/{name} not done after {timeout:g} s")
            query = {"watch": True, "fieldSelector": f"metadata.name={name}",
                     "timeoutSeconds": max(1, int(left)), "allowWatchBookmarks": True}
            with contextlib.closing(self.stream(path, query, timeout=left + 5)) as events:
                for event in events:
                    kind_of = event.get("type")
                    if kind_of == "ERROR":
                        break  # e.g. 410 Expired: watch again from now
                    if kind_of == "BOOKMARK":
                        continue
                    obj = event.get("object") or {}
                    found = None if kind_of == "DELETED" else KubeObject(
                        {"apiVersion": api_version, "kind": kind, **obj})
                    if done(found):
                        return found

    # -- writes ---------------------------------------------------------------------------------
    def create(self, manifest: Mapping[str, Any]) -> KubeObject:
        meta = manifest.get("metadata") or {}
        path = self._path(manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""))
        return KubeObject(self.request("POST", path, body=dict(manifest)))

    def apply(self, manifest: Mapping[str, Any], field_manager: str,
              force: bool = True) -> KubeObject:
        meta = manifest.get("metadata") or {}
        path = self._path(manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""),
                          meta["name"])
        return KubeObject(self.request("PATCH", path, {"fieldManager": field_manager,
                                                       "force": force},
                                       dict(manifest), APPLY_PATCH))

    def replace(self, manifest: Mapping[str, Any]) -> KubeObject:
        """PUT: with `metadata.resourceVersion` set, a 409 Conflict if someone wrote first."""
        meta = manifest.get("metadata") or {}
        path = self._path(manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""),
                          meta["name"])
        return KubeObject(self.request("PUT", path, body=dict(manifest)))

    def patch(self, api_version: str, kind: str, name: str, namespace: str,
              changes: Mapping[str, Any]) -> KubeObject:
        """A JSON merge patch (RFC 7386) of the given fields."""
        return KubeObject(self.request("PATCH", self._path(api_version, kind, namespace, name),
                                       body=dict(changes), content_type=MERGE_PATCH))

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "",
               uid: str = "") -> dict[str, Any]:
        """Delete (background propagation); `uid`: only if it is still that very object."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1",
                                "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        return self.request("DELETE", self._path(api_version, kind, namespace, name), body=body)

    def scale(self, api_version: str, kind: str, name: str, namespace: str) -> int:
        answer = self.request("GET", self._path(api_version, kind, namespace, name, "scale"))
        return int((answer.get("spec") or {}).get("replicas") or 0)

    def set_scale(self, api_version: str, kind: str, name: str, namespace: str, replicas: int,
                  field_manager: str) -> int:
        answer = self.request("PATCH", self._path(api_version, kind, namespace, name, "scale"),
                              {"fieldManager": field_manager},
                              {"spec": {"replicas": replicas}}, MERGE_PATCH)
        return int((answer.get("spec") or {}).get("replicas") or 0)
