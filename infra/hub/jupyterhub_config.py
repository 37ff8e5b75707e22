"""The hub's configuration: static code reading the course's settings from values.json.

classops renders values.json (shared/stack/hub_component.py) into the `hub` ConfigMap next to
this file; secrets arrive as environment variables from the Secrets classops generated once
(JPY_COOKIE_SECRET, CONFIGPROXY_AUTH_TOKEN, JUPYTERHUB_CRYPT_KEY and one token per service).
Class names are strings, so this file imports neither KubeSpawner nor the authenticator.
"""

import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

values = json.loads((Path(__file__).parent / "values.json").read_text())
release = values["release"]
user = values["singleuser"]

# -- the hub and the proxy (z2jh's Service names) -----------------------------------------------
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_port = 8081
c.JupyterHub.hub_connect_ip = "hub"
c.ConfigurableHTTPProxy.api_url = "http://proxy-api:8001"
c.ConfigurableHTTPProxy.should_start = False
c.JupyterHub.cleanup_servers = False  # a hub restart must not stop the students' servers
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = ""  # JPY_COOKIE_SECRET is set
c.JupyterHub.last_activity_interval = 60
c.JupyterHub.concurrent_spawn_limit = 64
c.JupyterHub.allow_named_servers = False

# -- sign-in: the course's authenticator, its settings passed through ---------------------------
auth = values["authenticator"]
c.JupyterHub.authenticator_class = auth["class"]
c[auth["section"]].update(auth["settings"])
if values["admins"]:
    c.Authenticator.admin_users = set(values["admins"])

# -- KubeSpawner: z2jh's names and labels --------------------------------------------------------
c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
c.KubeSpawner.namespace = os.environ.get("POD_NAMESPACE", values["namespace"])
c.KubeSpawner.image = user["image"]
c.KubeSpawner.cpu_guarantee = float(user["cpu_guarantee"]) if user["cpu_guarantee"] else None
c.KubeSpawner.cpu_limit = float(user["cpu_limit"]) if user["cpu_limit"] else None
c.KubeSpawner.mem_guarantee = user["mem_guarantee"]
c.KubeSpawner.mem_limit = user["mem_limit"]
c.KubeSpawner.scheduler_name = user["scheduler_name"]
c.KubeSpawner.priority_class_name = user["priority_class"]
c.KubeSpawner.common_labels = {"app": "jupyterhub", "release": release,
                               "heritage": "jupyterhub"}
c.KubeSpawner.extra_labels = {"hub.jupyter.org/network-access-hub": "true"}
c.KubeSpawner.pod_name_template = "jupyter-{user_server}"
c.KubeSpawner.port = 8888
c.KubeSpawner.start_timeout = 300
c.KubeSpawner.tolerations = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
     "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user",
     "effect": "NoSchedule"},
]
c.KubeSpawner.node_affinity_preferred = [{"weight": 100, "preference": {"matchExpressions": [
    {"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}}]
c.KubeSpawner.fs_gid = 100
c.KubeSpawner.uid = 1000
if user["materials"]:
    c.KubeSpawner.environment = {"COURSE_MATERIALS_URL": user["materials"]}

# Home directories: one `claim-{username}` PVC per student (component=singleuser-storage and the
# hub.jupyter.org/username annotation come from KubeSpawner; backups select by them).
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.pvc_name_template = "claim-{username}{servername}"
c.KubeSpawner.storage_capacity = user["storage_capacity"]
c.KubeSpawner.storage_class = user["storage_class"]
c.KubeSpawner.storage_access_modes = ["ReadWriteOnce"]
c.KubeSpawner.storage_extra_labels = {"app": "jupyterhub", "release": release}
c.KubeSpawner.volumes = [{"name": "volume-{username}{servername}",
                          "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
c.KubeSpawner.volume_mounts = [{"name": "volume-{username}{servername}",
                                "mountPath": "/home/jovyan"}]

# -- services: the idle culler (as z2jh enables it) and classops --------------------------------
cull = values["cull"]
c.JupyterHub.services = [
    {"name": "idle-culler", "command": [
        sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull['timeout']}",
        f"--cull-every={cull['every']}", "--concurrency=10"]},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
for name, service in values["services"].items():
    c.JupyterHub.services.append({"name": name, "api_token": os.environ[service["token_env"]]})
    c.JupyterHub.load_roles.append({"name": name, "services": [name],
                                    "scopes": service["scopes"]})
