"""The HTTP face of the emulator: routes, verbs, lists, watches and answers as kube-apiserver
has them.

Plain HTTP/1.1 with keep-alive (every answer, errors included, carries Content-Length; watches are
chunked), one thread per connection. Paths follow
https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import yaml

from . import discovery, openapi_v2, reviews
from .auth import Attributes, User, acting_as, forbidden_details
from .control import RequestRecord, reason_for
from .listing import list_body, selection
from .patches import APPLY, apply_patch
from .routes import Route, method_not_allowed, not_found_path, parse_route, verb_of
from .store import ApiError, Obj
from .watching import WatchStream, serve_watch, watch_start

if TYPE_CHECKING:
    from .emulator import Emulator

MAX_BODY = 3 * 1024 * 1024  # the apiserver refuses request bodies over 3 MiB


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        super().__init__(address, Handler)
        self.emulator = emulator


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: with Nagle on, the body would wait for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log under /_emu/requests replaces access logging

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for warning in self._warnings:
            self.send_header("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
        self.end_headers()
        self.wfile.write(data)
        self._status = code

    def _user(self) -> User | None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            # kubectl never sends a bearer token over plain HTTP; such requests are the old
            # insecure port's: admin, unless the emulator is told otherwise (anonymous_user).
            return self.emu.authorizer.anonymous()
        if not auth.startswith("Bearer "):
            return None
        return self.emu.authorizer.authenticate(auth[len("Bearer "):].strip())

    def _handle(self, method: str) -> None:
        self._status = 0
        self._warnings: list[str] = []
        url = urlsplit(self.path)
        path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        user = self._user()
        verb = method.lower()
        try:
            if length > MAX_BODY:
                raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
            if path.startswith("/_emu/"):
                self.emu.serve_control(self, method, path, query, raw)
                return
            route = parse_route(self.emu.catalogue, path)
            verb = verb_of(method, route, query)
            fault = self.emu.controls.take_fault(verb, path)
            delay = self.emu.controls.delay_for(verb, path)
            if delay:
                time.sleep(delay)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                raise ApiError(fault.status, reason_for(fault.status),
                               fault.message or f"injected fault: {fault.status}", {}, headers)
            if user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            user = self.emu.authorizer.impersonate(  # kubectl --as, --as-group
                user, self.headers.get_all("Impersonate-User") or [],
                self.headers.get_all("Impersonate-Group") or [])
            if route is None:
                denial = self.emu.authorizer.denial(user, Attributes(verb, path=path))
                if denial is not None:
                    raise ApiError(403, "Forbidden", denial)
                self._discovery(path)
                return
            attrs = Attributes(verb, route.resource.group, route.resource.plural,
                               route.subresource, route.name or self._selected_name(verb, query),
                               route.namespace)
            denial = self.emu.authorizer.denial(user, attrs)
            if denial is not None:
                raise ApiError(403, "Forbidden", denial, forbidden_details(
                    route.resource.group, route.resource.plural, attrs.name))
            self.user = user
            with acting_as(user):  # for admission that needs the requester (RBAC escalation)
                self._resource(method, verb, route, query, raw)
        except ApiError as err:
            self._send_json(err.code, err.status(), err.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # an emulator bug must read as a 500, not a dropped connection
            traceback.print_exc()
            bug = ApiError(500, "InternalError", f"emulator error: {exc!r}")
            self._send_json(500, bug.status())
        finally:
            if not path.startswith("/_emu/"):
                self.emu.controls.record(RequestRecord(
                    time.time(), user.name if user else "<unauthenticated>", verb, path,
                    url.query, self._status, query.get("fieldManager", "")))

    @staticmethod
    def _selected_name(verb: str, query: dict[str, str]) -> str:
        """A list or watch selecting `metadata.name=X` asks for X, which resourceNames can grant
        (the apiserver's RequestInfoFactory)."""
        if verb not in ("list", "watch"):
            return ""
        for term in (query.get("fieldSelector") or "").split(","):
            key, _, value = term.partition("=")
            value = value.removeprefix("=").strip()  # "=" and "==" both select exactly
            if key.strip() == "metadata.name" and value:
                return value
        return ""

    # -- non-resource paths ---------------------------------------------------------------------
    def _discovery(self, path: str) -> None:
        cat = self.emu.catalogue
        segs = [s for s in path.split("/") if s]
        body: Any = None
        if path in ("/healthz", "/livez", "/readyz"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self._status = 200
            return
        if path in ("/version", "/version/"):
            body = discovery.version_info()
        elif segs == ["api"]:
            body = discovery.api_versions()
        elif segs == ["api", "v1"]:
            body = discovery.api_resource_list(cat, "", "v1")
        elif segs == ["apis"]:
            body = discovery.api_group_list(cat)
        elif len(segs) == 2 and segs[0] == "apis":
            body = discovery.api_group(cat, segs[1])
        elif len(segs) == 3 and segs[0] == "apis" and cat.in_group_version(segs[1], segs[2]):
            body = discovery.api_resource_list(cat, segs[1], segs[2])
        elif segs == ["openapi", "v2"]:
            self._openapi_v2()
            return
        elif segs == ["openapi", "v3"]:
            body = discovery.openapi_v3_root(cat)
        elif segs[:2] == ["openapi", "v3"]:
            self._openapi_document(segs[2:])
            return
        if body is None:
            raise not_found_path()
        self._send_json(200, body)

    def _openapi_v2(self) -> None:
        if openapi_v2.PROTOBUF_MIME in (self.headers.get("Accept") or ""):
            data, content_type = openapi_v2.document(), openapi_v2.PROTOBUF_CONTENT_TYPE
        else:
            data, content_type = openapi_v2.document_json().encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._status = 200

    def _openapi_document(self, segs: list[str]) -> None:
        if segs[:1] == ["api"] and len(segs) == 2:
            group, version = "", segs[1]
        elif segs[:1] == ["apis"] and len(segs) == 3:
            group, version = segs[1], segs[2]
        else:
            raise not_found_path()
        resources = self.emu.catalogue.in_group_version(group, version)
        if not resources:
            raise not_found_path()
        doc = discovery.openapi_v3_document(group, version, tuple(resources))
        data = doc.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "public, immutable")
        self.end_headers()
        self.wfile.write(data)
        self._status = 200

    # -- resources ------------------------------------------------------------------------------
    def _resource(self, method: str, verb: str, route: Route, query: dict[str, str],
                  raw: bytes) -> None:
        res = route.resource
        if route.subresource:
            allowed = {"status": ("get", "update", "patch"), "scale": ("get", "update", "patch"),
                       "finalize": ("update",), "token": ("create",),
                       "eviction": ("create",), "log": ("get",)}.get(route.subresource, ())
            if verb not in allowed:
                raise method_not_allowed()
        elif verb not in res.verbs or (verb in ("create", "deletecollection") and res.namespaced
                                       and not route.namespace):
            raise method_not_allowed()
        elif verb == "create" and route.name:
            raise method_not_allowed()  # POST goes to the collection; an item URL has no POST
        dry_run = query.get("dryRun") == "All"
        validation = query.get("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            raise ApiError(400, "BadRequest", f"fieldValidation must be one of Ignore, Warn or "
                           f"Strict, not {validation!r}")
        agent = (self.headers.get("User-Agent") or "unknown").split("/")[0]
        writes: dict[str, Any] = {"manager": query.get("fieldManager") or agent,
                                  "field_validation": validation, "warnings": self._warnings}
        reg = self.emu.registry
        if verb == "create" and reviews.serves(res, route.subresource):
            self._send_json(201, reviews.create(self.emu.authorizer, self.user, res,
                                                route.namespace, route.name, route.subresource,
                                                self._body(raw)))
            return
        if verb == "create" and route.subresource == "eviction":
            from .controllers.eviction import evict  # the controllers load only when used

            self._send_json(*evict(self.emu, route.namespace, route.name, self._body(raw),
                                   dry_run))
            return
        if verb == "get" and route.subresource == "log":
            self._pod_log(route, query)
            return
        if verb == "list":
            self._list(route, query)
        elif verb == "watch":
            self._watch(route, query)
        elif verb == "get":
            obj = reg.read(res, route.namespace, route.name)
            self._send_json(200, reg.scale(res, obj) if route.subresource == "scale" else obj)
        elif verb == "create":
            self._send_json(201, reg.create(res, route.namespace, self._body(raw), dry_run,
                                            **writes))
        elif verb == "update":
            body = self._body(raw)
            if route.subresource == "scale":
                self._send_json(200, reg.update_scale(res, route.namespace, route.name, body,
                                                      dry_run, manager=writes["manager"]))
            else:
                self._send_json(200, reg.update(res, route.namespace, route.name, body,
                                                route.subresource, dry_run, **writes))
        elif verb == "patch":
            self._patch(route, raw, dry_run, query, writes)
        elif verb == "delete":
            options = self._delete_options(raw, query)
            answer, _ = reg.delete(res, route.namespace, route.name, options, dry_run)
            still_there = answer.get("metadata", {}).get("deletionTimestamp") and \
                answer["metadata"].get("finalizers")
            self._send_json(202 if still_there else 200, answer)
        elif verb == "deletecollection":
            keep = selection(res, query)
            for key, obj in self.emu.store.items(res.key, route.namespace or None):
                if keep(obj):
                    reg.delete(res, key[0], key[1], self._delete_options(raw, query), dry_run)
            self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success"})

    def _pod_log(self, route: Route, query: dict[str, str]) -> None:
        from .controllers.logs import pod_log  # the controllers load only when used

        data = pod_log(self.emu, route.namespace, route.name, query).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._status = 200

    def _delete_options(self, raw: bytes, query: dict[str, str]) -> Obj:
        """DeleteOptions from the body, or from the query string as the official client sends
        `grace_period_seconds` and `propagation_policy`."""
        options = self._body(raw) if raw else {}
        if "gracePeriodSeconds" in query:
            try:
                options.setdefault("gracePeriodSeconds", int(query["gracePeriodSeconds"]))
            except ValueError:
                raise ApiError(400, "BadRequest", "gracePeriodSeconds must be an integer") from None
        if "propagationPolicy" in query:
            options.setdefault("propagationPolicy", query["propagationPolicy"])
        if "orphanDependents" in query:
            options.setdefault("orphanDependents", query["orphanDependents"] in ("true", "1"))
        return options

    def _body(self, raw: bytes) -> Obj:
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0]
        if content_type.strip() not in ("application/json", ""):
            # Protobuf (what kubectl's typed generators such as `create configmap` send) is not
            # spoken here; a real server without a codec answers the same.
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media "
                           f"types include: application/json (got {content_type})")
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError(400, "BadRequest",
                           f"the body of the request was not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be a JSON object")
        return body

    def _patch(self, route: Route, raw: bytes, dry_run: bool, query: dict[str, str],
               writes: dict[str, Any]) -> None:
        res, reg = route.resource, self.emu.registry
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == APPLY and not route.subresource:
            self._apply(route, raw, dry_run, query, writes)
            return
        current = reg.read(res, route.namespace, route.name)
        if route.subresource == "scale":
            patched = apply_patch(reg.scale(res, current), raw, content_type, res, True)
            self._send_json(200, reg.update_scale(res, route.namespace, route.name, patched,
                                                  dry_run, manager=writes["manager"]))
            return
        patched = apply_patch(current, raw, content_type, res, not res.custom)
        self._send_json(200, reg.update(res, route.namespace, route.name, patched,
                                        route.subresource, dry_run, **writes))

    def _apply(self, route: Route, raw: bytes, dry_run: bool, query: dict[str, str],
               writes: dict[str, Any]) -> None:
        if not query.get("fieldManager"):
            raise ApiError(400, "BadRequest", "PATCH, application/apply-patch+yaml requires "
                           "fieldManager to be set")
        try:
            body = yaml.safe_load(raw or b"")
        except yaml.YAMLError as exc:
            raise ApiError(400, "BadRequest", f"error decoding YAML: {exc}") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "an applied configuration must be an object")
        force = query.get("force") in ("true", "1")
        obj, created = self.emu.registry.apply(
            route.resource, route.namespace, route.name, body, manager=writes["manager"],
            force=force, dry_run=dry_run,
            field_validation=query.get("fieldValidation") or "Strict",
            warnings=writes["warnings"])
        self._send_json(201 if created else 200, obj)

    def _list(self, route: Route, query: dict[str, str]) -> None:
        self._send_json(200, list_body(self.emu.store, route, query,
                                       self.headers.get("Accept", ""), self.emu.clock.now()))

    def _watch(self, route: Route, query: dict[str, str]) -> None:
        since = watch_start(query)  # a bad version is a 400 before the stream opens
        selection(route.resource, query)  # and so is a bad selector
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()  # a watcher learns the stream is open before the first event
        self._status = 200
        stream = WatchStream(self.wfile)
        serve_watch(stream, self.emu.store, route, query, since, self.emu.bookmark_interval)
        if stream.cut:
            self.close_connection = True


def serve_forever_in_thread(server: ApiServer) -> threading.Thread:
    # A short poll interval: stopping waits for the loop to notice, once per fixture teardown.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="kubeemu", daemon=True)
    thread.start()
    return thread
