"""The term ledger: every outcome of every capability, kept all term (Kubernetes keeps Events
for about an hour).

- `records`: a `Record` (what, who, when, outcome, object refs; never a secret's value) and how
  an executor `Result` becomes one; the cluster summary folded from records (pure).
- `storage`: JSON lines in S3, one object per batch (S3 has no append), under
  `<course>/<term>/ledger/<YYYY-MM-DD>/`, and the summary ConfigMap `classops-ledger`.
- `recording`: the executor's hook (`LedgerSink`): every `execute()` call's results become one
  batch; failures are also POSTed to `CLASSOPS_LEDGER_WEBHOOK_URL`.
"""
