"""The HTTP face of `classops serve`: `app` (the Flask app: CloudEvents in, health, metrics),
`checks` (a raw request checked before the CloudEvents SDK sees it, pure) and `token` (the
webhook's bearer token, read again from its Secret every TTL). May import `events`, `ports`,
`logs` and `runtime.inbox`; never `cli`.
"""
