"""`classops archive-worker`: the archive worker run by hand on a folder, or by a copy Job.

    classops archive-worker [--endpoint-url URL] --bucket B --prefix COURSE/TERM SRC
    classops archive-worker ... --home alice=/homes/alice --home bob/project=/homes/bob-project
    classops archive-worker ... --home=/homes/0 --owner alice@uni.edu --home=/homes/1 --owner b/p
    classops archive-worker ... --where-note SRC   (each archive also says where it is kept)
    classops archive-worker ... --restore USER[/SERVER] --into DIR [--timestamp T]
    classops archive-worker ... --verify USER[/SERVER] [--timestamp T]

Each folder of SRC is one student's home, named by their username; `--home` names owners and
folders one by one (how a Job passes named servers). The bucket and endpoint default to
CLASSOPS_S3_BUCKET and CLASSOPS_S3_ENDPOINT (the settings); credentials come from botocore's
(boto3's) chain. On a terminal
a progress line is redrawn; otherwise one line per home goes to stderr (a Job's log). `-o json`
prints a summary. Exit 0 when every home was copied (or found unchanged), 1 when any failed
or a restore/verify found a problem.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.archive.layout import Owner, check_prefix, owner_of_folder, parse_stamp
from shared.cli import options
from shared.cli.options import UsageError


def add(commands: Any, subcommand: options.Subcommand) -> None:
    sub = subcommand(commands, "archive-worker", "copy each student's home to S3 as a tar.gz "
                     "and its manifest, or restore / verify one student's copy")
    sub.add_argument("src", nargs="?", metavar="SRC",
                     help="a folder whose every folder is one student's home")
    sub.add_argument("--home", action="append", default=[], metavar="[USER[/SERVER]=]PATH",
                     help="one home (repeatable), instead of or besides SRC; without USER= "
                          "the folder's name is the owner")
    sub.add_argument("--owner", action="append", default=[], metavar="USER[/SERVER]",
                     help="the owner of each path-only --home, in order (how copy Jobs pass "
                          "them: a mount's folder need not be named for its student)")
    sub.add_argument("--encoded-names", action="store_true",
                     help="folder names are URL-encoded owners (`alice%%40uni.edu`, "
                          "`bob%%2Fproject` for a named server), as copy Jobs mount them")
    sub.add_argument("--endpoint-url", metavar="URL",
                     help="the S3 endpoint (default: CLASSOPS_S3_ENDPOINT, else AWS)")
    sub.add_argument("--bucket", metavar="B", help="default: CLASSOPS_S3_BUCKET")
    sub.add_argument("--prefix", required=True, metavar="COURSE/TERM")
    sub.add_argument("--timestamp", metavar="YYYYMMDDTHHMMSSZ",
                     help="names the copy (default: now); for --restore/--verify, which copy "
                          "(default: the newest)")
    sub.add_argument("--jobs", type=int, default=8, metavar="N", help="homes at once (8)")
    sub.add_argument("--level", type=int, default=1, choices=range(4), metavar="0-3",
                     help="igzip compression level (1)")
    sub.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                     help="recorded in each manifest (e.g. snapshot=NAME)")
    sub.add_argument("--where-note", action="store_true",
                     help="add WHERE-ARE-MY-FILES.txt at each archive's root, telling the "
                          "student where their files are (course and term from --prefix); "
                          "copy Jobs of final (term-end) snapshots pass it")
    sub.add_argument("--restore", metavar="USER[/SERVER]", help="restore this student's copy")
    sub.add_argument("--into", metavar="DIR", help="for --restore: a new or empty folder")
    sub.add_argument("--verify", metavar="USER[/SERVER]",
                     help="read this student's copy and compare it with its manifest")
    sub.set_defaults(func=cmd_archive_worker)
    sub = subcommand(commands, "link", "print a presigned URL to a student's newest copy "
                     "(at most 7 days)")
    sub.add_argument("user", metavar="USER[/SERVER]")
    sub.add_argument("--prefix", metavar="COURSE/TERM",
                     help="default: the schedule's course and term")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.add_argument("--timestamp", metavar="YYYYMMDDTHHMMSSZ", help="default: the newest copy")
    sub.add_argument("--expires", default="7d", metavar="DURATION",
                     help="how long the URL works: 30m, 12h, 7d (the most SigV4 allows)")
    sub.add_argument("--bucket", metavar="B", help="default: CLASSOPS_S3_BUCKET")
    sub.add_argument("--endpoint-url", metavar="URL")
    sub.set_defaults(func=cmd_link)


def _pair(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise UsageError(f"{option} {text!r}: expected NAME=VALUE")
    return key, value


def _store(args: argparse.Namespace, jobs: int) -> Any:
    """The S3 port, its SDK imported and its client made with the garbage collector off, then
    frozen: botocore's imports and its S3 model (~10^5 objects, kept for the whole command)
    hold nothing a collection could free, yet every full collection walked them, ~60 ms of a
    one-student restore's ~320 ms of CPU here (bench/README.md). `gc.disable()` early and
    `gc.freeze()` once the long-lived objects exist is the pattern Python's `gc` documents;
    everything made afterwards (each home, each tar member) is collected as usual. These
    commands own their process: one that calls `main()` again (a test) keeps what existed."""
    env = options.settings(args)
    bucket = args.bucket or env.s3_bucket
    if not bucket:
        raise UsageError("no bucket: give --bucket or set CLASSOPS_S3_BUCKET")
    collecting = gc.isenabled()
    gc.disable()
    try:
        from shared.ports.s3 import S3, connect

        store = S3(connect(args.endpoint_url or env.s3_endpoint, env.s3_region, pool=jobs + 4),
                   bucket)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    return store


def cmd_archive_worker(args: argparse.Namespace) -> int:
    try:
        prefix = check_prefix(args.prefix)
        if args.timestamp:
            parse_stamp(args.timestamp)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.restore or args.verify:
        return _read_back(args, prefix)
    return _archive(args, prefix)


def _archive(args: argparse.Namespace, prefix: str) -> int:
    from shared.archive.worker import Copy, Home, Options, archive_homes, homes_in

    homes = homes_in(Path(args.src), args.encoded_names) if args.src else []
    paths = [text for text in args.home if text.startswith(("/", "."))]
    if args.owner and len(args.owner) != len(paths):
        raise UsageError(f"{len(args.owner)} --owner for {len(paths)} path-only --home")
    owners = iter(args.owner)
    for text in args.home:
        if text.startswith(("/", ".")):  # a path: --owner, else its folder's name
            owner = Owner.parse(next(owners)) if args.owner else \
                owner_of_folder(Path(text).name, args.encoded_names)
            homes.append(Home(owner, Path(text)))
        else:
            name, path = _pair(text, "--home")
            homes.append(Home(Owner.parse(name), Path(path)))
    if not homes:
        raise UsageError("nothing to copy: give SRC (a folder of homes) or --home")
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: at least 1")
    meta = dict(_pair(m, "--meta") for m in args.meta)
    store = _store(args, args.jobs)
    began, tty = time.monotonic(), sys.stderr.isatty()
    done: list[Copy] = []

    def progress(copy: Copy) -> None:
        done.append(copy)
        read = sum(c.size for c in done) / 1e6
        line = (f"{len(done)}/{len(homes)} homes: "
                f"{sum(c.status == 'archived' for c in done)} archived, "
                f"{sum(c.status == 'unchanged' for c in done)} unchanged, "
                f"{sum(c.status == 'failed' for c in done)} failed; {read:.0f} MB read, "
                f"{sum(c.stored for c in done) / 1e6:.0f} MB stored, "
                f"{read / max(time.monotonic() - began, 1e-3):.0f} MB/s")
        if tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            what = copy.error if copy.status == "failed" else copy.timestamp
            print(f"{copy.owner}: {copy.status} {what}", file=sys.stderr, flush=True)

    copies = archive_homes(store, prefix, homes, args.timestamp,
                           Options(level=args.level, jobs=args.jobs, meta=meta,
                                   extras=_where_note(prefix, store.bucket) if args.where_note
                                   else None), progress)
    if tty:
        print(file=sys.stderr)
    seconds = time.monotonic() - began
    failed = [c for c in copies if c.status == "failed"]
    summary = {"bucket": store.bucket, "prefix": prefix, "timestamp": args.timestamp or "",
               "homes": len(copies),
               "archived": sum(c.status == "archived" for c in copies),
               "unchanged": sum(c.status == "unchanged" for c in copies),
               "failed": len(failed), "bytes_read": sum(c.size for c in copies),
               "bytes_stored": sum(c.stored for c in copies),
               "seconds": round(seconds, 3), "copies": [c.as_dict() for c in copies]}
    if args.output == "json":
        print(json.dumps(summary, indent=1))
    else:
        for c in failed:
            print(f"FAILED {c.owner}: {c.error}")
        print(f"{summary['homes']} homes in {seconds:.1f} s: {summary['archived']} archived, "
              f"{summary['unchanged']} unchanged, {len(failed)} failed; "
              f"{summary['bytes_read'] / 1e6:.1f} MB read, "
              f"{summary['bytes_stored'] / 1e6:.1f} MB stored in s3://{store.bucket}/{prefix}/")
    return 1 if failed else 0


def _where_note(prefix: str, bucket: str) -> Callable[[Owner], list[tuple[str, bytes]]]:
    """The note for each owner; it names their folder of copies, not one copy, so every
    term-end run writes the same note (an unchanged home is not copied again for it)."""
    from shared.archive.layout import Place
    from shared.teardown.notes import WHERE, where_are_my_files

    course, _, term = prefix.partition("/")
    return lambda owner: [(WHERE, where_are_my_files(course, term, str(owner),
                                                     Place(prefix, owner).folder, bucket))]


def _read_back(args: argparse.Namespace, prefix: str) -> int:
    if args.restore and not args.into:
        raise UsageError("--restore needs --into DIR (a new or empty folder)")
    store = _store(args, 1)  # first: the SDK's import goes under its frozen start (see there)
    from shared.archive.restoring import RestoreError, find, restore, verify

    owner = Owner.parse(args.restore or args.verify)
    try:
        manifest = find(store, prefix, owner, args.timestamp)
        checked = restore(store, manifest, Path(args.into)) if args.restore else \
            verify(store, manifest)
    except RestoreError as err:
        raise UsageError(str(err)) from None
    if args.output == "json":
        print(json.dumps(checked.as_dict(), indent=1))
    else:
        did = f"restored into {checked.into}" if args.restore else "verified"
        print(f"{owner} copy {manifest.timestamp}: {checked.files} entries, "
              f"{checked.bytes / 1e6:.1f} MB {did}; "
              f"{'matches its manifest' if checked.ok else 'PROBLEMS:'}")
        for problem in checked.problems:
            print(f"  {problem}")
    return 0 if checked.ok else 1


def _duration(text: str) -> timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    try:
        return timedelta(**{units[text[-1]]: float(text[:-1])})
    except (KeyError, ValueError, IndexError):
        raise UsageError(f"--expires {text!r}: expected a number and m, h or d, "
                         "e.g. 7d") from None


def _prefix(args: argparse.Namespace) -> str:
    if args.prefix:
        return check_prefix(args.prefix)
    from shared.timetable import load

    timetable = load(args.schedule)  # an invalid one is reported by main, exit 1
    return f"{timetable.course}/{timetable.term.name}"


def cmd_link(args: argparse.Namespace) -> int:
    """The newest (or the named) copy's archive as a URL a student opens without credentials."""
    from shared.archive.restoring import RestoreError, find
    from shared.ports.s3 import MAX_PRESIGN

    expires = _duration(args.expires)
    if not timedelta(0) < expires <= MAX_PRESIGN:
        raise UsageError(f"--expires {args.expires}: a presigned URL lasts up to 7 days")
    store = _store(args, 1)
    owner = Owner.parse(args.user)
    temporary, until = store.temporary_credentials()
    if temporary:
        when = f" (at {until:%Y-%m-%d %H:%M %Z})" if until else ""
        print(f"classops: warning: signed with temporary credentials: the URL stops working "
              f"when they expire{when}, which may be before {args.expires}", file=sys.stderr)
    try:
        manifest = find(store, _prefix(args), owner, args.timestamp)
    except RestoreError as err:
        raise UsageError(str(err)) from None
    url = store.presign_get(manifest.archive_key, expires)
    if args.output == "json":
        print(json.dumps({"user": owner.user, "server": owner.server,
                          "timestamp": manifest.timestamp, "key": manifest.archive_key,
                          "size": manifest.archive_size, "sha256": manifest.archive_sha256,
                          "expires_seconds": int(expires.total_seconds()),
                          "temporary_credentials": temporary, "url": url}, indent=1))
    else:
        print(url)
    return 0
