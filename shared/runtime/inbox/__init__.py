"""The inbox kept in the cluster: `entries` (one received event and its outcome, as data, pure),
`store` (the ConfigMaps: put, take, settle, sweep) and `draining` (the leader runs due entries).
May import `events`, `ports`, `logs` and `runtime.running`; never `cli`.
"""
