"""The `backup` section: when to snapshot every student's volume, and what to keep."""

from __future__ import annotations

from . import crons
from .fields import Node
from .meeting_sections import term_of
from .model import Backup, Retention
from .sections import section


def _cron(node: Node) -> str | None:
    expression = node.text(expected="a cron expression such as '0 3 * * *'")
    term = term_of(node)
    if expression is None or term is None:
        return expression
    wrong = crons.problem(expression, term.timezone)
    if wrong:
        node.problem(wrong)
        return None
    return expression


def _retention(node: Node) -> Retention | None:
    keys = ("keep_last", "keep_daily", "keep_weekly", "cron", "keep_hourly", "keep_monthly")
    if not node.keys(keys, keys[:3]):
        return None
    last = node.get("keep_last", lambda n: n.integer(minimum=1))
    daily = node.get("keep_daily", Node.integer)
    weekly = node.get("keep_weekly", Node.integer)
    hourly = node.get("keep_hourly", Node.integer)
    monthly = node.get("keep_monthly", Node.integer)
    cron = node.get("cron", _cron)
    if last is None or daily is None or weekly is None:
        return None
    if any(v is None and node.child(k) is not None for k, v in (
            ("cron", cron), ("keep_hourly", hourly), ("keep_monthly", monthly))):
        return None
    return Retention(last, daily, weekly, cron, hourly or 0, monthly or 0)


@section("backup", needs=("term",))
def parse_backup(node: Node) -> Backup | None:
    if not node.keys(("cron", "retention", "copy", "drill"), ("cron",)):
        return None
    cron = node.get("cron", _cron)
    retention = node.get("retention", _retention)
    copy, drill = node.get("copy", _cron), node.get("drill", _cron)
    if cron is None or any(value is None and node.child(key) is not None for key, value in (
            ("retention", retention), ("copy", copy), ("drill", drill))):
        return None
    return Backup(cron, retention, copy, drill)
