"""The catalogue of API resources the emulator serves: one row per resource, nothing else.

Names, scopes, verbs, short names and subresources follow what a 1.33 kube-apiserver publishes in
discovery (https://kubernetes.io/docs/reference/using-api/api-concepts/#resources).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core API
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    has_generation: bool = False  # metadata.generation is kept (spec changes bump it)
    categories: tuple[str, ...] = ()
    singular: str = field(default="")
    custom: bool = False  # served from a CustomResourceDefinition

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """What identifies the resource in the store and in error messages: `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool = True, **kw) -> Resource:
    return Resource(group, version, kind, plural, namespaced, **kw)


_STATUS = ("status",)
_SCALE = ("scale", "status")
_ALL = ("all",)

RESOURCES: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", False, short_names=("ns",),
       verbs=NO_COLLECTION_DELETE, subresources=("finalize", "status")),
    _r("", "v1", "Pod", "pods", short_names=("po",),
       subresources=("binding", "eviction", "log", "status"), categories=_ALL),
    _r("", "v1", "Service", "services", short_names=("svc",), subresources=_STATUS,
       categories=_ALL),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
    _r("", "v1", "Event", "events", short_names=("ev",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
       subresources=_STATUS),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",),
       subresources=_STATUS),
    _r("", "v1", "Node", "nodes", False, short_names=("no",), subresources=_STATUS),
    _r("apps", "v1", "Deployment", "deployments", short_names=("deploy",), subresources=_SCALE,
       has_generation=True, categories=_ALL),
    _r("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), subresources=_SCALE,
       has_generation=True, categories=_ALL),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), subresources=_STATUS,
       has_generation=True, categories=_ALL),
    _r("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), subresources=_SCALE,
       has_generation=True, categories=_ALL),
    _r("batch", "v1", "Job", "jobs", subresources=_STATUS, has_generation=True, categories=_ALL),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), subresources=_STATUS,
       has_generation=True, categories=_ALL),
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), subresources=_STATUS, categories=_ALL),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    # Create-only, never stored: answered by reviews.py.
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False,
       verbs=("create",)),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
       verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
       False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
       verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False,
       verbs=("create",)),
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, short_names=("pc",)),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
       subresources=_STATUS, has_generation=True),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r("events.k8s.io", "v1", "Event", "events", short_names=("ev",)),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",),
       has_generation=True),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",),
       subresources=_STATUS, has_generation=True),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       False, short_names=("crd", "crds"), subresources=_STATUS, has_generation=True),
    # The CSI snapshot resources are not here: they are CRDs (crds/*.yaml), installed at start.
)

# Field selectors each resource accepts besides metadata.name and metadata.namespace
# (pkg/registry/*/strategy.go ToSelectableFields in kubernetes/kubernetes).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
             "status.nominatedNodeName"),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion",
               "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
               "reportingComponent", "source", "type"),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "nodes": ("spec.unschedulable",),
    "replicasets": ("status.replicas",),
    "jobs": ("status.successful",),
    "persistentvolumeclaims": (),
}


class Catalogue:
    """Look-ups over the served resources by path segment; CRDs add and remove theirs.

    Both containers are replaced, never changed in place, so readers need no lock."""

    def __init__(self, resources: tuple[Resource, ...] = RESOURCES) -> None:
        self.resources: tuple[Resource, ...] = tuple(resources)
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def add(self, res: Resource) -> None:
        kept = tuple(r for r in self.resources
                     if (r.group, r.version, r.plural) != (res.group, res.version, res.plural))
        self.resources = (*kept, res)
        self._by_path = {**self._by_path, (res.group, res.version, res.plural): res}

    def remove(self, group: str, plural: str) -> None:
        self.resources = tuple(r for r in self.resources
                               if (r.group, r.plural) != (group, plural))
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def group_versions(self) -> dict[str, list[str]]:
        """Every group (core "" included) with its versions, preferred first."""
        out: dict[str, list[str]] = {}
        for r in self.resources:
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group and r.version == version]
