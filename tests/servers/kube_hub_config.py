"""JupyterHub config for the KubeSpawner test hub (`jupyterhub -f`); not a module to import.

It loads the hub stack's own config, rendered by classops into the hub's work dir
(`infra/hub/jupyterhub_config.py` and its `values.json`, unchanged), so the KubeSpawner settings
students meet here are the ones classops deploys. Then it points addresses and paths at the
test servers, as the cluster's DNS names and volumes would be elsewhere, and nothing else:

- the hub and proxy addresses (Services `hub` and `proxy-api` in the cluster) -> 127.0.0.1 ports;
- the sqlite file (the `hub-db-dir` volume) -> the work dir;
- KubeSpawner's cluster -> the emulator, through `KUBECONFIG` (and `POD_NAMESPACE`, as the hub
  Deployment sets it), both in the environment;

and it adds what only a test needs:

- generous timeouts: the hub and KubeSpawner run in wall time on a busy 2-core machine that also
  runs the emulator, where a storm's API requests can take longer than KubeSpawner's 3 s
  (`k8s_api_request_timeout`; it retries for 30 s, then the spawn fails);

- the `classops-test-admin` service, the fixtures' hand for creating users and starting servers;
- named servers, when `CLASSOPS_TEST_HUB_NAMED_SERVERS` is set: the deployed config turns them
  off, but home-directory backups must handle the `claim-<user>--<server>` PVCs they make.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)
env = os.environ

load_subconfig(env["CLASSOPS_TEST_HUB_RENDERED_CONFIG"])  # type: ignore[name-defined]  # noqa: F821

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["CLASSOPS_TEST_HUB_PROXY_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["CLASSOPS_TEST_HUB_PORT"])
c.JupyterHub.hub_connect_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['CLASSOPS_TEST_HUB_PROXY_API_PORT']}"
c.JupyterHub.db_url = f"sqlite:///{env['CLASSOPS_TEST_HUB_DIR']}/jupyterhub.sqlite"

c.JupyterHub.services.append(
    {"name": "classops-test-admin", "api_token": env["CLASSOPS_TEST_HUB_ADMIN_TOKEN"]})
c.JupyterHub.load_roles.append({
    "name": "classops-test-admin",
    "description": "The fixture's own hand: create and delete users, start their servers.",
    "scopes": ["admin:users", "admin:servers"],
    "services": ["classops-test-admin"],
})
c.KubeSpawner.k8s_api_request_timeout = 60
c.KubeSpawner.k8s_api_request_retry_timeout = 600
c.KubeSpawner.start_timeout = 1200
c.KubeSpawner.http_timeout = 300

if env.get("CLASSOPS_TEST_HUB_NAMED_SERVERS"):
    c.JupyterHub.allow_named_servers = True
