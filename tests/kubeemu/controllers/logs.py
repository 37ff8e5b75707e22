"""`GET /api/v1/namespaces/N/pods/P/log`: a container's output, as the kubelet serves it.

The log is the file the Job runner writes (`disk.py`); a pod none of ours ran has an empty log
once it runs. Query parameters: `container` (required when the pod has several), `tailLines`,
`limitBytes`. The errors are the apiserver's: 404 for a missing pod, 400 for a container not in
the pod, for a missing container name, and for a container still waiting to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store import ApiError
from .disk import disk
from .pods import spec, status

if TYPE_CHECKING:
    from ..emulator import Emulator


def pod_log(emu: Emulator, namespace: str, name: str, query: dict[str, str]) -> str:
    pod = emu.store.get("pods", (namespace, name))
    if pod is None:
        raise ApiError(404, "NotFound", f'pods "{name}" not found',
                       {"name": name, "kind": "pods"})
    names = [c.get("name", "") for c in spec(pod).get("containers") or []]
    container = query.get("container") or ""
    if not container:
        if len(names) != 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod "
                           f"{name}, choose one of: [{' '.join(names)}]")
        container = names[0]
    if container not in names:
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    path = disk(emu).log(namespace, name, container)
    if not path.exists():
        if status(pod).get("phase", "Pending") == "Pending":
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is '
                           "waiting to start: ContainerCreating")
        return ""
    data = path.read_bytes()
    if query.get("tailLines"):
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[-int(query["tailLines"]):]) if int(query["tailLines"]) else b""
    if query.get("limitBytes"):
        data = data[:int(query["limitBytes"])]
    return data.decode(errors="replace")
