"""CustomResourceDefinitions: a created CRD is Established and its resources are served.

As apiextensions-apiserver does (https://kubernetes.io/docs/tasks/extend-kubernetes/
custom-resources/custom-resource-definitions/): names are checked (`<plural>.<group>`), the CRD
is marked NamesAccepted and Established with its accepted names, every served version appears in
discovery and OpenAPI, its objects are validated against the version's `openAPIV3Schema` (422)
with unknown fields pruned, the `status` subresource is honoured, and deleting the CRD (held by
the `customresourcecleanup.apiextensions.k8s.io` finalizer) deletes its objects first.
The CSI snapshot CRDs (`crds/*.yaml`) are installed this way when an emulator starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import discovery
from .clock import timestamp
from .resources import Resource
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .emulator import Emulator

CRD_DIR = Path(__file__).with_name("crds")
CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io"


def bundled() -> list[Obj]:
    """The CRDs every emulator starts with (the CSI external-snapshotter's)."""
    return [yaml.safe_load(p.read_text()) for p in sorted(CRD_DIR.glob("*.yaml"))]


def resources_of(crd: Obj) -> list[Resource]:
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subresources = tuple(k for k in ("status", "scale") if k in (v.get("subresources") or {}))
        out.append(Resource(spec["group"], v["name"], names["kind"], names["plural"],
                            spec.get("scope") == "Namespaced",
                            short_names=tuple(names.get("shortNames") or ()),
                            subresources=subresources, has_generation=True,
                            categories=tuple(names.get("categories") or ()),
                            singular=names.get("singular", ""), custom=True))
    return out


def _invalid(crd: Obj, causes: list[dict[str, str]]) -> ApiError:
    name = crd["metadata"].get("name", "")
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    return ApiError(422, "Invalid", f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is '
                    f"invalid: {summary}", {"name": name, "group": "apiextensions.k8s.io",
                                            "kind": "CustomResourceDefinition", "causes": causes})


class CustomResources:
    """Admission for CRDs, wired into the registry by the emulator."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        emu.registry.admission.append(self.admit)

    def install_bundled(self) -> None:
        crd_res = self.emu.catalogue.find("apiextensions.k8s.io", "v1",
                                          "customresourcedefinitions")
        assert crd_res is not None
        for crd in bundled():
            self.emu.registry.create(crd_res, "", crd, manager="kubeemu")

    def admit(self, res: Resource, old: Obj | None, new: Obj) -> Obj:
        if res.key != CRD_KEY:
            return new
        spec = new.get("spec") or {}
        names = spec.get("names") or {}
        causes = []
        expected = f"{names.get('plural')}.{spec.get('group')}"
        if new["metadata"].get("name") != expected:
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": f'Invalid value: "{new["metadata"].get("name")}": must be '
                                      "spec.names.plural+\".\"+spec.group"})
        storage = [v for v in spec.get("versions") or [] if v.get("storage")]
        if len(storage) != 1:
            causes.append({"reason": "FieldValueInvalid", "field": "spec.versions",
                           "message": "Invalid value: must have exactly one version marked as "
                                      "storage version"})
        if old is not None and old["spec"].get("group") != spec.get("group"):
            causes.append({"reason": "FieldValueInvalid", "field": "spec.group",
                           "message": "Invalid value: field is immutable"})
        if causes:
            raise _invalid(new, causes)
        finalizers = list(new["metadata"].get("finalizers") or [])
        if CLEANUP not in finalizers and not new["metadata"].get("deletionTimestamp"):
            new["metadata"]["finalizers"] = [*finalizers, CLEANUP]
        if not new["metadata"].get("deletionTimestamp"):
            self._serve(new)
        now = timestamp(self.emu.clock.now())
        new["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in storage],
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": m,
                 "lastTransitionTime": now}
                for t, r, m in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                                ("Established", "InitialNamesAccepted",
                                 "the initial names have been accepted"))]}
        return new

    def _serve(self, crd: Obj) -> None:
        spec = crd["spec"]
        for res, version in zip(resources_of(crd), [v for v in spec["versions"]
                                                    if v.get("served", True)], strict=True):
            schema: dict[str, Any] = dict((version.get("schema") or {}).get("openAPIV3Schema")
                                          or {"type": "object",
                                              "x-kubernetes-preserve-unknown-fields": True})
            discovery.register_crd_schema(res.group, res.version, res.kind, schema)
            self.emu.catalogue.add(res)

    def remove(self, crd: Obj) -> list[Resource]:
        """Stop serving a CRD's resources; returns them so their objects can be deleted."""
        gone = resources_of(crd)
        for res in gone:
            self.emu.catalogue.remove(res.group, res.plural)
        return gone
