"""Settings, built once from the environment (a Kubernetes Secret arrives as env vars too) and
passed down. Nothing else reads `os.environ` (the CLI lays its flags over these, once, in
`shared.cli.options`); nothing is read from files in the repo.

Secrets are `Secret`s: their repr and str are masked, so a settings object can be logged whole.
S3 credentials are not here: boto3's own chain (env, web identity, instance role) finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "CLASSOPS_"


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    namespace: str = ""  # "" : the kubeconfig's context, or the pod's own namespace
    kubeconfig: str | None = None  # None: in-cluster, else the default kubeconfig
    # a cluster is configured beyond ~/.kube/config: $KUBECONFIG or a pod's ServiceAccount
    # ($KUBERNETES_SERVICE_HOST); `classops plan` reads a cluster only then
    cluster_configured: bool = False
    functions: str = "functions"  # the package of handlers, loaded by name
    hub_api_url: str | None = None  # e.g. http://hub:8081/hub/api
    hub_token: Secret | None = None
    s3_endpoint: str | None = None  # None: AWS
    s3_bucket: str | None = None
    s3_region: str | None = None
    dry_run: bool = False
    log_level: str = "INFO"
    # -- serve (seconds for durations) --
    host: str = "0.0.0.0"  # where the HTTP server listens
    port: int = 8080  # the webhook, /healthz, /readyz and /metrics
    identity: str = ""  # this replica in the Lease; "" : the host name and process id
    lease_name: str = "classops-leader"
    lease_duration: float = 15.0  # client-go's defaults: 15 / 10 / 2
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    webhook_token: Secret | None = None  # else read from the Secret `webhook_secret`, key `token`
    webhook_secret: str = "classops-webhook"
    webhook_token_ttl: float = 10.0  # the Secret is read again after this long (rotation)
    # origins whose OPTIONS handshake is granted (lowercase); ("*",): any; (): none
    webhook_allowed_origins: tuple[str, ...] = ()
    dedupe_ttl: float = 7 * 86400.0  # how long an event's id is remembered
    inbox_max_pending: int = 10_000  # over it the webhook answers 503 + Retry-After
    schedule: str | None = None  # schedules.yaml for the scheduler; None: no scheduler
    # -- backup (issue 15) --
    ledger_webhook_url: str | None = None  # failures of every capability are POSTed here
    snapshot_class: str | None = None  # None: the cluster's default VolumeSnapshotClass
    snapshot_timeout: float = 600.0  # seconds for a snapshot to become readyToUse
    snapshot_workers: int = 8  # snapshots cut and awaited at once
    final_snapshot_bound: float = 900.0  # a deleted PVC waits at most this for its last one
    # -- serve's HTTP server (shared.runtime.http) --
    http_threads: int = 8  # worker threads: requests served at once
    http_connection_limit: int = 100  # open connections; past it, no accept() until some close
    http_channel_timeout: float = 30.0  # an idle or stalled connection is closed after this
    shutdown_grace: float = 20.0  # SIGTERM: requests in flight get this long to be answered

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Every problem at once (`SettingsError`), or the settings."""
        def get(name: str) -> str | None:
            return env.get(PREFIX + name) or None

        problems: list[str] = []
        default = cls()  # the defaults are the dataclass's, written once
        dry = (get("DRY_RUN") or "false").lower()
        if dry not in ("true", "false", "1", "0"):
            problems.append(f"{PREFIX}DRY_RUN={dry!r}: expected true or false")
        level = (get("LOG_LEVEL") or default.log_level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append(f"{PREFIX}LOG_LEVEL={level!r}: expected DEBUG, INFO, WARNING or ERROR")
        url, token = get("HUB_API_URL"), get("HUB_TOKEN")
        if url and not token:
            problems.append(f"{PREFIX}HUB_TOKEN is missing: the hub's API needs a service token")
        numbers = {name: _number(name, get(name), float(value), problems)
                   for name, value in (("PORT", default.port),
                                       ("LEASE_DURATION", default.lease_duration),
                                       ("RENEW_DEADLINE", default.renew_deadline),
                                       ("RETRY_PERIOD", default.retry_period),
                                       ("DEDUPE_TTL", default.dedupe_ttl),
                                       ("INBOX_MAX_PENDING", default.inbox_max_pending),
                                       ("WEBHOOK_TOKEN_TTL", default.webhook_token_ttl),
                                       ("SNAPSHOT_TIMEOUT", default.snapshot_timeout),
                                       ("SNAPSHOT_WORKERS", default.snapshot_workers),
                                       ("FINAL_SNAPSHOT_BOUND", default.final_snapshot_bound),
                                       ("HTTP_THREADS", default.http_threads),
                                       ("HTTP_CONNECTION_LIMIT", default.http_connection_limit),
                                       ("HTTP_CHANNEL_TIMEOUT", default.http_channel_timeout),
                                       ("SHUTDOWN_GRACE", default.shutdown_grace))}
        if numbers["SNAPSHOT_WORKERS"] < 1:
            problems.append(f"{PREFIX}SNAPSHOT_WORKERS must be at least 1")
        for name in ("HTTP_THREADS", "HTTP_CONNECTION_LIMIT", "HTTP_CHANNEL_TIMEOUT"):
            if numbers[name] < 1:
                problems.append(f"{PREFIX}{name} must be at least 1")
        if numbers["INBOX_MAX_PENDING"] < 1:
            problems.append(f"{PREFIX}INBOX_MAX_PENDING must be at least 1")
        if not (numbers["RETRY_PERIOD"] < numbers["RENEW_DEADLINE"]
                < numbers["LEASE_DURATION"]):
            # A leader must give up (renew deadline) before others may take over (duration).
            problems.append(f"{PREFIX}RETRY_PERIOD < {PREFIX}RENEW_DEADLINE < "
                            f"{PREFIX}LEASE_DURATION must hold")
        webhook_token = get("WEBHOOK_TOKEN")
        origins = tuple(o.strip().lower() for o in (get("WEBHOOK_ALLOWED_ORIGINS") or "")
                        .split(",") if o.strip())
        if problems:
            raise SettingsError(problems)
        configured = bool(get("KUBECONFIG") or env.get("KUBECONFIG")
                          or env.get("KUBERNETES_SERVICE_HOST"))
        return cls(namespace=get("NAMESPACE") or "", kubeconfig=get("KUBECONFIG"),
                   cluster_configured=configured,
                   functions=get("FUNCTIONS") or default.functions, hub_api_url=url,
                   hub_token=Secret(token) if token else None,
                   s3_endpoint=get("S3_ENDPOINT"), s3_bucket=get("S3_BUCKET"),
                   s3_region=get("S3_REGION"), dry_run=dry in ("true", "1"), log_level=level,
                   host=get("HOST") or default.host, port=int(numbers["PORT"]),
                   identity=get("IDENTITY") or "",
                   lease_name=get("LEASE_NAME") or default.lease_name,
                   lease_duration=numbers["LEASE_DURATION"],
                   renew_deadline=numbers["RENEW_DEADLINE"],
                   retry_period=numbers["RETRY_PERIOD"],
                   webhook_token=Secret(webhook_token) if webhook_token else None,
                   webhook_secret=get("WEBHOOK_SECRET") or default.webhook_secret,
                   webhook_allowed_origins=origins,
                   webhook_token_ttl=numbers["WEBHOOK_TOKEN_TTL"],
                   dedupe_ttl=numbers["DEDUPE_TTL"], schedule=get("SCHEDULE"),
                   inbox_max_pending=int(numbers["INBOX_MAX_PENDING"]),
                   ledger_webhook_url=get("LEDGER_WEBHOOK_URL"),
                   snapshot_class=get("SNAPSHOT_CLASS"),
                   snapshot_timeout=numbers["SNAPSHOT_TIMEOUT"],
                   snapshot_workers=int(numbers["SNAPSHOT_WORKERS"]),
                   final_snapshot_bound=numbers["FINAL_SNAPSHOT_BOUND"],
                   http_threads=int(numbers["HTTP_THREADS"]),
                   http_connection_limit=int(numbers["HTTP_CONNECTION_LIMIT"]),
                   http_channel_timeout=numbers["HTTP_CHANNEL_TIMEOUT"],
                   shutdown_grace=numbers["SHUTDOWN_GRACE"])


def _number(name: str, text: str | None, default: float, problems: list[str]) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        problems.append(f"{PREFIX}{name}={text!r}: expected a non-negative number")
        return default
    return value
