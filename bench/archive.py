"""Copies of a class to S3: our archive worker against `aws s3 sync`, `rclone copy` and restic.

Run: .venv/bin/python -m bench.archive [--students 300] [--tools ours,aws,rclone,restic]
[--rounds 3] [--restores 5] [--baseline DIR] (install the tools first: bash
bench/setup_archive.sh). One SeaweedFS server (tests/servers) gets a bucket per tool. The seeded
synthetic class (bench/synthetic_class.py) is written once; then each tool, run as the command a
person would type: a first run over the whole class, an unchanged re-run, `--rounds` re-runs
each after a different 5% of the students changed a notebook, and the restore of one student
into an empty folder (`--restores` times, the median counts). Prints seconds, what each stored,
and the ratios to restic.

The 5%-changed step is short (seconds) on a shared machine, so one run of it is noise: each
round changes a different 5%, runs every tool in that round's order (the order turns by one each
round, as it does between the first and unchanged steps, so no tool always goes first or
last), and the figure is the median of the rounds, with the median of the per-round ratios to
restic (each ratio taken in the same minute).
`--baseline DIR`: another checkout of classops (e.g. `git archive main shared | tar -x -C DIR`)
run as the tool `base` beside `ours`, to compare two versions of the worker in the same minutes.
Every command's wall time includes its own start-up (Python's imports for ours and aws).
The machine is shared and has 2 cores: run the full class once or twice, use `--students 30`
for a quick look.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.synthetic_class import EPOCH, change, generate, username
from tests.servers.seaweed import S3Endpoint, SeaweedS3

PREFIX = "cs101/fall-2026"
_MAIN = "import sys; from shared.cli.main import main; sys.argv[0] = 'classops'; sys.exit(main())"
STEPS = ("first", "unchanged", "changed", "restore")


@dataclass
class Tool:
    name: str
    bucket: str
    copy: Callable[[Path], list[str]]
    restore: Callable[[Path, str], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    init: list[str] | None = None
    times: dict[str, float] = field(default_factory=dict)
    rounds: list[float] = field(default_factory=list)  # the 5%-changed re-runs, in order


def tools(endpoint: S3Endpoint, src: Path, baseline: Path | None = None) -> dict[str, Tool]:
    url = endpoint.endpoint_url
    keys = {"AWS_ACCESS_KEY_ID": endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
            "AWS_DEFAULT_REGION": endpoint.region}
    venv = Path(sys.executable).parent
    ours = Tool("ours", "bench-ours",
                lambda s: [str(venv / "classops"), "archive-worker", "--endpoint-url", url,
                           "--bucket", "bench-ours", "--prefix", PREFIX, "-o", "json", str(s)],
                lambda into, user: [str(venv / "classops"), "archive-worker", "--endpoint-url",
                                    url, "--bucket", "bench-ours", "--prefix", PREFIX,
                                    "--restore", user, "--into", str(into)], dict(keys))
    aws = Tool("aws", "bench-aws",
               lambda s: [str(venv / "aws"), "s3", "sync", str(s), f"s3://bench-aws/{PREFIX}",
                          "--endpoint-url", url, "--only-show-errors", "--no-follow-symlinks"],
               lambda into, user: [str(venv / "aws"), "s3", "sync",
                                   f"s3://bench-aws/{PREFIX}/{user}", str(into),
                                   "--endpoint-url", url, "--only-show-errors"], dict(keys))
    remote = {"RCLONE_CONFIG_SW_TYPE": "s3", "RCLONE_CONFIG_SW_PROVIDER": "SeaweedFS",
              "RCLONE_CONFIG_SW_ACCESS_KEY_ID": endpoint.access_key,
              "RCLONE_CONFIG_SW_SECRET_ACCESS_KEY": endpoint.secret_key,
              "RCLONE_CONFIG_SW_ENDPOINT": url, "RCLONE_CONFIG_SW_REGION": endpoint.region}
    rclone = Tool("rclone", "bench-rclone",
                  lambda s: ["rclone", "copy", str(s), f"sw:bench-rclone/{PREFIX}"],
                  lambda into, user: ["rclone", "copy", f"sw:bench-rclone/{PREFIX}/{user}",
                                      str(into)], remote)
    repo = f"s3:{url}/bench-restic"
    restic = Tool("restic", "bench-restic",
                  lambda s: ["restic", "-r", repo, "backup", "--quiet", str(s)],
                  lambda into, user: ["restic", "-r", repo, "restore", "latest", "--target",
                                      str(into), "--include", str(src / user)],
                  {**keys, "RESTIC_PASSWORD": "bench"},
                  init=["restic", "-r", repo, "init"])
    found = {t.name: t for t in (ours, aws, rclone, restic)}
    if baseline is not None:  # the same commands from another checkout, first on the path
        def based(argv: list[str]) -> list[str]:
            argv = [a.replace("bench-ours", "bench-base") for a in argv[1:]]
            return [sys.executable, "-P", "-c", _MAIN, *argv]  # -P: not the cwd's checkout

        found["base"] = Tool("base", "bench-base", lambda s: based(ours.copy(s)),
                             lambda into, user: based(ours.restore(into, user)),
                             {**keys, "PYTHONPATH": str(baseline)})
    return found


def turned(tools: list[Tool], n: int) -> list[Tool]:
    """The tools in the order of step or round `n`: turned by one each time, so none always
    runs first (after the step that wrote the most) or last."""
    return tools[n % len(tools):] + tools[:n % len(tools)]


def run(tool: Tool, argv: list[str]) -> float:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "RCLONE_", "RESTIC_")) or k == "AWS_CA_BUNDLE"}
    env.pop("AWS_CA_BUNDLE", None)  # rclone 1.60 fails on it; nobody here needs it
    env.update(tool.env)
    began = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{tool.name}: {' '.join(argv[:3])} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    return seconds


def stored(endpoint: S3Endpoint, bucket: str) -> tuple[int, int]:
    client = endpoint.client()
    count = size = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            count, size = count + 1, size + item["Size"]
    return count, size


def table(chosen: list[Tool], endpoint: S3Endpoint) -> str:
    rows = [("tool", "first s", "unchanged s", "5% changed s", "restore one s", "objects",
             "stored MB")]
    for t in chosen:
        count, size = stored(endpoint, t.bucket)
        rows.append((t.name, *(f"{t.times[s]:.2f}" if s in t.times else "-" for s in STEPS),
                     str(count), f"{size / 1e6:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in rows)


def ratios(chosen: dict[str, Tool]) -> list[str]:
    base = chosen.get("restic")
    if not base:
        return []
    lines = []
    for t in (t for t in chosen.values() if t.name in ("ours", "base")):
        for step, goal in (("first", 0.8), ("unchanged", 1.0)):
            r = t.times[step] / base.times[step]
            lines.append(f"{t.name}/restic {step}: {r:.2f}x (goal <= {goal}x: "
                         f"{'met' if r <= goal else 'NOT met'})")
        each = [a / b for a, b in zip(t.rounds, base.rounds, strict=True)]
        r = statistics.median(each)
        lines.append(f"{t.name}/restic 5% changed, median of {len(each)} rounds: {r:.2f}x "
                     f"(rounds {', '.join(f'{x:.2f}x' for x in each)}; goal <= 1.0x: "
                     f"{'met' if r <= 1.0 else 'NOT met'})")
        lines.append(f"{t.name} restore one: {t.times['restore']:.2f} s (goal < 0.5 s: "
                     f"{'met' if t.times['restore'] < 0.5 else 'NOT met'})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tools", default="ours,aws,rclone,restic")
    parser.add_argument("--rounds", type=int, default=3,
                        help="5%%-changed re-runs, each a different 5%% (the median is reported)")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout of classops, run as the tool `base`")
    parser.add_argument("--restores", type=int, default=5,
                        help="restores of one student per tool (the median counts)")
    parser.add_argument("--work", help="folder for the class and restores (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="classops-bench-archive-"))
    src = work / "class"
    if src.exists():
        shutil.rmtree(src)
    began = time.monotonic()
    students = generate(src, args.students, args.seed)
    files, size = sum(s.files for s in students), sum(s.size for s in students)
    print(f"class: {args.students} students, {files} files, {size / 1e9:.2f} GB "
          f"(written in {time.monotonic() - began:.0f} s) in {src}")
    server = SeaweedS3()
    endpoint = server.start()
    try:
        every = tools(endpoint, src, args.baseline)
        names = args.tools.split(",") + (["base"] if args.baseline else [])
        chosen = {n: every[n] for n in names}
        client = endpoint.client()
        for t in chosen.values():
            client.create_bucket(Bucket=t.bucket)
            if t.init:
                run(t, t.init)
        for n, step in enumerate(("first", "unchanged")):
            for t in turned(list(chosen.values()), n):
                t.times[step] = run(t, t.copy(src))
                print(f"{t.name} {step}: {t.times[step]:.2f} s", flush=True)
        for n in range(args.rounds):
            # each round a different 5% (its own seed) with later mtimes than the last round's
            changed = change(src, 0.05, args.seed + n, at=EPOCH + 9_000_000 + 10_000 * n)
            order = turned(list(chosen.values()), n)
            print(f"round {n + 1}: {changed} students changed a notebook; "
                  f"order {', '.join(t.name for t in order)}; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            for t in order:
                t.rounds.append(run(t, t.copy(src)))
                print(f"{t.name} changed: {t.rounds[-1]:.2f} s", flush=True)
        for t in chosen.values():
            t.times["changed"] = statistics.median(t.rounds)
        user = username(7)
        # A restore is a fraction of a second, mostly the command's start-up: one sample is
        # noise on a shared machine, so each tool restores `--restores` times, interleaved
        # (the same minutes for every tool), and the median counts.
        seconds: dict[str, list[float]] = {t.name: [] for t in chosen.values()}
        for n in range(args.restores):
            for t in chosen.values():
                into = work / "restore" / t.name / str(n)
                shutil.rmtree(into, ignore_errors=True)  # a kept --work dir: never overwrites
                seconds[t.name].append(run(t, t.restore(into, user)))
        for t in chosen.values():
            t.times["restore"] = statistics.median(seconds[t.name])
            print(f"{t.name} restore {user}: median {t.times['restore']:.2f} s of "
                  f"{args.restores} ({', '.join(f'{s:.2f}' for s in seconds[t.name])})",
                  flush=True)
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print()
        print(table(list(chosen.values()), endpoint))
        for line in ratios(chosen):
            print(line)
    finally:
        server.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
