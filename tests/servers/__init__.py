"""Real servers for the test suite: SeaweedFS (S3) and JupyterHub, started once per test run.

`fixtures.py` is the pytest plugin (`pytest_plugins = ["tests.servers.fixtures"]`); `seaweed.py`
and `jupyterhub.py` start and stop the servers and can be used without pytest; `process.py` holds
what both share (free ports, process groups that never outlive the test run, readiness waits).
`kubehub.py` runs the course's hub with KubeSpawner against an emulator (`kube_hub_config.py` its
config), `storm.py` drives student storms through it, `kube_fixtures.py` is their pytest plugin.
"""
