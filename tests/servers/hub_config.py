"""JupyterHub config for the test hub (`jupyterhub -f hub_config.py`); not a module to import.

Everything that varies per run (ports, directories, tokens) comes from `CLASSOPS_TEST_HUB_*`
environment variables set by `tests/servers/jupyterhub.py`, so no secret is ever written to the
repository. The proxy is started by the fixture, not by the hub (`should_start = False`, as in
Zero-to-JupyterHub where it is its own pod): the hub would start it in a session of its own that
outlives a killed hub.
"""

import os
import sys
from pathlib import Path

import jupyterhub

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)
env = os.environ
workdir = Path(env["CLASSOPS_TEST_HUB_DIR"])

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["CLASSOPS_TEST_HUB_PROXY_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["CLASSOPS_TEST_HUB_PORT"])
c.JupyterHub.db_url = f"sqlite:///{workdir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(workdir / "jupyterhub_cookie_secret")
c.JupyterHub.log_level = "INFO"
c.JupyterHub.allow_named_servers = True  # KubeSpawner's named servers exist in production too
c.JupyterHub.cleanup_servers = True  # a stopped hub takes its users' servers with it

c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['CLASSOPS_TEST_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.auth_token = env["CLASSOPS_TEST_HUB_PROXY_TOKEN"]

# Users are created through the REST API by the fixture; nobody logs in with a browser.
c.JupyterHub.authenticator_class = "dummy"

c.JupyterHub.spawner_class = "simple"  # SimpleLocalProcessSpawner: no system users needed
c.Spawner.cmd = [sys.executable, str(Path(env["CLASSOPS_TEST_HUB_SINGLEUSER"]))]
# The stand-in echoes it as X-JupyterHub-Version, as jupyterhub-singleuser does.
c.Spawner.environment = {"CLASSOPS_STANDIN_HUB_VERSION": jupyterhub.__version__}
c.Spawner.start_timeout = 30
c.Spawner.http_timeout = 30
c.LocalProcessSpawner.interrupt_timeout = 3
c.LocalProcessSpawner.term_timeout = 3
c.SimpleLocalProcessSpawner.home_dir_template = str(workdir / "home" / "{username}")

c.JupyterHub.services = [
    {"name": "classops", "api_token": env["CLASSOPS_TEST_HUB_CLASSOPS_TOKEN"]},
    {"name": "classops-test-admin", "api_token": env["CLASSOPS_TEST_HUB_ADMIN_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {
        "name": "classops",
        "description": "What classops does in production: list users, read and stop servers.",
        "scopes": env["CLASSOPS_TEST_HUB_CLASSOPS_SCOPES"].split(),
        "services": ["classops"],
    },
    {
        "name": "classops-test-admin",
        "description": "The fixture's own hand: create and delete users, start their servers.",
        "scopes": ["admin:users", "admin:servers"],
        "services": ["classops-test-admin"],
    },
]
