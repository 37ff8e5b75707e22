"""The bucket lifecycle rule copies need (pure): abort incomplete multipart uploads.

The worker aborts a multipart upload that fails, but a worker killed mid-upload (a node lost, a
Job's deadline) cannot: its parts stay, invisible in listings and billed, until a lifecycle rule
with `AbortIncompleteMultipartUpload` removes them. `classops check` looks for one and, when
there is none, proposes it as the command to run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

RULE_ID = "classops-abort-incomplete-uploads"
DAYS = 2  # longer than any copy Job runs


def abort_rule(days: int = DAYS) -> dict[str, Any]:
    return {"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}


def aborts_incomplete(rules: Sequence[Mapping[str, Any]]) -> int | None:
    """The days after which an enabled whole-bucket rule aborts incomplete uploads, or None."""
    for rule in rules:
        days = (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
        scope = rule.get("Filter", {"Prefix": rule.get("Prefix", "")})
        whole = scope in ({}, {"Prefix": ""}) or scope is None
        if rule.get("Status") == "Enabled" and days is not None and whole:
            return int(days)
    return None


def proposal(bucket: str, rules: Sequence[Mapping[str, Any]]) -> str:
    """The command that adds the rule and keeps the bucket's other rules (a PUT replaces all)."""
    config = {"Rules": [*[dict(r) for r in rules if r.get("ID") != RULE_ID], abort_rule()]}
    return (f"aws s3api put-bucket-lifecycle-configuration --bucket {bucket} "
            f"--lifecycle-configuration '{json.dumps(config, separators=(',', ':'))}'")
