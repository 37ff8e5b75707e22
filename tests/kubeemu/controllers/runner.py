"""A container as a local process: its command, env and volumes mapped onto this machine.

What the kubelet and the container runtime would do, for a Job pod's container, with the image
ignored (the command must be runnable here; `python`/`python3` are this interpreter, so the
project's venv is used):

- **Volumes.** A PVC volume is its PV's folder (`disk.py`); a `readOnly` one (on the volume or
  the mount) is a copy made for the run, so writes never reach the PV (they succeed in the copy:
  we run as root, so a read-only mode would not stop them). Secret and ConfigMap volumes are
  their keys written as files (`items` honoured); `emptyDir` and the rest are empty folders.
- **Paths.** Env values, args and `workingDir` that begin with a mount's `mountPath` (also the
  `--opt=/path` form) are rewritten to the local folder, longest mountPath first.
- **Env.** `env` (`value`, `$(VAR)` references, `valueFrom` secretKeyRef / configMapKeyRef /
  fieldRef) and `envFrom` (with `prefix`); a missing Secret or ConfigMap (not `optional`) is a
  `ConfigError`, as the kubelet's CreateContainerConfigError. The process gets PATH, HOME,
  HOSTNAME and these, nothing else of ours.
- **Full volumes.** A process whose writable PVC is marked full runs with `RLIMIT_FSIZE` 0 and
  SIGXFSZ ignored (set by a small trampoline before exec, and with prlimit on running ones), so
  a write that grows a file fails with EFBIG ("File too large"): the nearest a process without a
  filesystem of its own gets to ENOSPC.
- **Output** (stdout and stderr) goes through a pipe to the container's log file.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..store import Obj
from .pods import spec

_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
# Runs before the command: ignore SIGXFSZ (so a full volume gives EFBIG, not a kill), die with
# the controller's thread, start with no room if asked, then become the command.
_TRAMPOLINE = ("import ctypes, os, resource, signal, sys\n"
               "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               "try:\n"  # PR_SET_PDEATHSIG: killed with the emulator, even by SIGKILL
               "    ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
               "except (OSError, AttributeError):\n"
               "    pass\n"
               "if sys.argv[1] == 'full':\n"
               "    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))\n"
               "os.execvpe(sys.argv[2], sys.argv[2:], os.environ)\n")


class ConfigError(Exception):
    """What keeps the container from being created (a missing Secret key, an unbound claim)."""


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    pvs: list[str] = field(default_factory=list)  # PV names mounted writable


Lookup = Callable[[str, str], Obj | None]  # (kind "secrets"/"configmaps", name) -> object


def _decoded(obj: Obj, kind: str) -> dict[str, str]:
    if kind == "secrets":
        return {k: base64.b64decode(v).decode(errors="replace")
                for k, v in (obj.get("data") or {}).items()}
    return dict(obj.get("data") or {})


def _keys(lookup: Lookup, kind: str, ref: Obj) -> dict[str, str] | None:
    obj = lookup(kind, ref.get("name", ""))
    if obj is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{kind[:-1]} "{ref.get("name")}" not found')
    return _decoded(obj, kind)


def _write_keys(folder: Path, data: dict[str, str], items: list[Obj] | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [(i["key"], i.get("path") or i["key"]) for i in items or []] or [
        (k, k) for k in data]
    for key, path in chosen:
        if key in data:
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[key])


def _volumes(pod: Obj, work: Path, lookup: Lookup, claim_folder: Callable[[str], tuple[Path, str]],
             read_only: set[str]) -> tuple[dict[str, Path], list[str]]:
    """Each pod volume's local folder, and the PV names mounted writable."""
    out: dict[str, Path] = {}
    pvs: list[str] = []
    for vol in spec(pod).get("volumes") or []:
        name, local = vol["name"], work / "volumes" / vol["name"]
        if vol.get("persistentVolumeClaim"):
            folder, pv = claim_folder(vol["persistentVolumeClaim"]["claimName"])
            if vol["persistentVolumeClaim"].get("readOnly") or name in read_only:
                shutil.copytree(folder, local, symlinks=True, dirs_exist_ok=True)
            else:
                local = folder
                pvs.append(pv)
        elif vol.get("secret") or vol.get("configMap"):
            kind, ref = ("secrets", vol["secret"]) if vol.get("secret") else (
                "configmaps", vol["configMap"])
            data = _keys(lookup, kind, {"name": ref.get("secretName") or ref.get("name"),
                                        "optional": ref.get("optional")})
            _write_keys(local, data or {}, ref.get("items"))
        else:
            local.mkdir(parents=True, exist_ok=True)
        out[name] = local
    return out, pvs


def rewrite(value: str, mounts: list[tuple[str, Path]]) -> str:
    """`value` with a leading mountPath (or `--opt=mountPath...`) replaced by its folder."""
    head, sep, tail = value.partition("=") if value.startswith("-") else ("", "", value)
    for path, local in mounts:
        root = path.rstrip("/") or "/"
        if tail == root or tail.startswith(root + "/"):
            return head + sep + str(local) + tail[len(root):]
    return value


def _env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    meta = pod["metadata"]
    fields = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
              "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec(pod).get("nodeName", ""),
              "spec.serviceAccountName": spec(pod).get("serviceAccountName", ""),
              "status.podIP": (pod.get("status") or {}).get("podIP", ""),
              "status.hostIP": (pod.get("status") or {}).get("hostIP", "")}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        kind, ref = ("secrets", source["secretRef"]) if source.get("secretRef") else (
            "configmaps", source.get("configMapRef") or {})
        for k, v in (_keys(lookup, kind, ref) or {}).items():
            env[source.get("prefix", "") + k] = v
    for var in container.get("env") or []:
        source = var.get("valueFrom")
        if source is None:
            env[var["name"]] = _REF.sub(lambda m: env.get(m[1], m[0]), var.get("value", ""))
            continue
        for key, kind in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            if source.get(key):
                ref = source[key]
                data = _keys(lookup, kind, ref)
                if data is not None and ref["key"] not in data and not ref.get("optional"):
                    raise ConfigError(f"couldn't find key {ref['key']} in "
                                      f"{'Secret' if kind == 'secrets' else 'ConfigMap'} "
                                      f"{meta['namespace']}/{ref['name']}")
                if data is not None and ref["key"] in data:
                    env[var["name"]] = data[ref["key"]]
        if source.get("fieldRef"):
            env[var["name"]] = fields.get(source["fieldRef"].get("fieldPath", ""), "")
    return env


def prepare(pod: Obj, container: Obj, work: Path, lookup: Lookup,
            claim_folder: Callable[[str], tuple[Path, str]]) -> Launch:
    """Everything the process needs, or ConfigError."""
    raw_env = _env(pod, container, lookup)  # first: a missing Secret costs no folder copies
    mounts_spec = container.get("volumeMounts") or []
    read_only = {m["name"] for m in mounts_spec if m.get("readOnly")}
    folders, pvs = _volumes(pod, work, lookup, claim_folder, read_only)
    mounts = sorted(((m["mountPath"], folders[m["name"]] / m.get("subPath", ""))
                     for m in mounts_spec if m["name"] in folders),
                    key=lambda m: -len(m[0]))
    env = {k: rewrite(v, mounts) for k, v in raw_env.items()}
    words = [*(container.get("command") or []), *(container.get("args") or [])]
    if not words:
        raise ConfigError("no command: the image's entrypoint is not known here")
    argv = [rewrite(_REF.sub(lambda m: env.get(m[1], m[0]), w), mounts) for w in words]
    if argv[0] in ("python", "python3") or re.fullmatch(r"(/usr(/local)?/bin/)?python3?(\.\d+)?",
                                                        argv[0]):
        argv[0] = sys.executable
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    cwd = Path(rewrite(container["workingDir"], mounts)) if container.get("workingDir") else home
    cwd.mkdir(parents=True, exist_ok=True)
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "HOSTNAME": pod["metadata"]["name"], "LANG": "C.UTF-8"}
    return Launch(argv, {**base, **env}, cwd, pvs)


class Process:
    """One running container: its output copied to `log`, killable, its file size limit
    settable while it runs."""

    def __init__(self, launch: Launch, log: Path, full: bool) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.launch = launch
        self._log: IO[bytes] = log.open("ab")
        program = shutil.which(launch.argv[0], path=launch.env.get("PATH"))
        if program is None and not Path(launch.argv[0]).is_file():
            self._log.close()
            raise FileNotFoundError(f'exec: "{launch.argv[0]}": executable file not found in '
                                    "$PATH")
        self.popen = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, "full" if full else "room", *launch.argv],
            cwd=launch.cwd, env=launch.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.killed = self.terminated = False
        self._copier = threading.Thread(target=self._copy, daemon=True,
                                        name=f"kubeemu-log-{self.popen.pid}")
        self._copier.start()

    def _copy(self) -> None:
        out = self.popen.stdout
        assert out is not None
        while chunk := out.read1(65536):  # type: ignore[attr-defined]
            self._log.write(chunk)
            self._log.flush()
        self._log.close()

    def poll(self) -> int | None:
        code = self.popen.poll()
        if code is not None:
            self._copier.join(timeout=5)  # the log is complete once the status says so
        return code

    def set_full(self, full: bool) -> None:
        limit = 0 if full else resource.RLIM_INFINITY
        with contextlib.suppress(OSError):  # it has ended
            resource.prlimit(self.popen.pid, resource.RLIMIT_FSIZE,
                             (limit, resource.RLIM_INFINITY))

    def terminate(self) -> None:
        if not self.terminated:
            self.terminated = True
            with contextlib.suppress(OSError):  # it has ended
                os.killpg(self.popen.pid, signal.SIGTERM)

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(OSError):  # it has ended
            os.killpg(self.popen.pid, signal.SIGKILL)
