"""`classops restore`: one student's files back, never over what is there.

    classops restore alice --from snapshot                 # newest ready snapshot -> a new PVC
    classops restore alice --from snapshot:NAME --into-home
    classops restore alice --from s3:2026-12-07 --into restore-alice   # a copy -> a new PVC
    classops restore alice --from s3 --into-home            # into restored/DATE/ in the home

From a snapshot into a PVC is a new claim whose `dataSource` is the snapshot. Everything else
runs a Job (`shared.archive.restore_jobs`) and waits for it: S3 copies are unpacked by
`archive-worker --restore` (checked against the manifest), a snapshot into the home is a PVC
restored from it, mounted read-only and copied into `restored/DATE/`, then deleted. An existing
target (PVC, or `restored/DATE/`) is refused, and so is `--into-home` while the student's
server runs or any pod mounts their PVC. It prints what it did. Exit 0 done, 1 the Job
failed, 2 a usage error (no such copy or snapshot, the target exists).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from shared.archive.layout import Owner, parse_stamp
from shared.timestamps import kube_time

SNAPSHOTS = "snapshot.storage.k8s.io/v1"
USERNAME, SERVERNAME = "hub.jupyter.org/username", "hub.jupyter.org/servername"


def add(commands: Any, subcommand: Any) -> None:
    sub = subcommand(commands, "restore", "restore a student's files from a snapshot or an S3 "
                     "copy into a new PVC or restored/DATE/ in their home (never in place)")
    sub.add_argument("user", metavar="USER[/SERVER]")
    sub.add_argument("--from", dest="source", required=True, metavar="snapshot[:NAME]|s3[:DATE]",
                     help="a snapshot (default the newest ready) or an S3 copy (DATE: "
                          "YYYY-MM-DD, the newest that day, or a copy's timestamp)")
    where = sub.add_mutually_exclusive_group()
    where.add_argument("--into", metavar="PVC", help="a new PVC of this name (default: "
                       "restore-<user>-<time>)")
    where.add_argument("--into-home", action="store_true",
                       help="into restored/DATE/ in the student's own PVC, touching nothing else")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE",
                     help="the course, term and classops image")
    sub.add_argument("--wait", type=float, default=900.0, metavar="SECONDS",
                     help="how long to wait for a restore Job (default 900)")
    sub.set_defaults(func=cmd_restore)


def _mine(obj: Any, owner: Owner) -> bool:
    notes = obj.metadata.get("annotations") or {}
    return bool(notes.get(USERNAME) == owner.user and
                (notes.get(SERVERNAME) or "") == owner.server)


def cmd_restore(args: argparse.Namespace) -> int:
    from shared.archive import restore_jobs as plan
    from shared.archive.layout import Place, stamp
    from shared.archive.worker import copies
    from shared.cli import options
    from shared.cli.options import UsageError
    from shared.ports.kube import Kube, connect, default_namespace
    from shared.stack.manifests import settings_of
    from shared.timetable import load

    owner = Owner.parse(args.user)
    kind, _, which = args.source.partition(":")
    if kind not in ("snapshot", "s3"):
        raise UsageError(f"--from {args.source!r}: expected snapshot[:NAME] or s3[:DATE]")
    env = options.settings(args)
    timetable = load(args.schedule)
    prefix, image = f"{timetable.course}/{timetable.term.name}", \
        settings_of(timetable).classops_image
    kube = Kube(getattr(args, "api_client", None) or connect(env.kubeconfig))
    ns = env.namespace or default_namespace(env.kubeconfig)
    try:
        homes = [c for c in kube.list("v1", "PersistentVolumeClaim", ns) if _mine(c, owner)
                 and not (c.metadata.get("labels") or {}).get(plan.PURPOSE)]
        home = homes[0] if homes else None
        if args.into_home and home is None:
            raise UsageError(f"{owner} has no PVC in {ns} (hub.jupyter.org/username)")
        if args.into_home and home is not None:  # before anything is made: see restore_jobs
            using = plan.in_use((p.raw for p in kube.list("v1", "Pod", ns)), owner, home.name)
            if using:
                raise UsageError(plan.busy(owner, ns, home.name, using))
        size = str(((home.spec if home else {}).get("resources") or {}).get(
            "requests", {}).get("storage") or "10Gi")
        storage_class = str((home.spec if home else {}).get("storageClassName") or "")
        if kind == "snapshot":
            snaps = [s for s in kube.list(SNAPSHOTS, "VolumeSnapshot", ns) if _mine(s, owner)
                     and s.status.get("readyToUse") is True and (not which or s.name == which)]
            if not snaps:
                raise UsageError(f"no ready snapshot{' ' + which if which else ''} of {owner} "
                                 f"in {ns}")
            snap = max(snaps, key=lambda s: (str(kube_time((s.metadata.get("annotations") or {})
                                                       .get("classops.edu/at")) or
                                                 s.metadata.get("creationTimestamp")), s.name))
            at = kube_time((snap.metadata.get("annotations") or {}).get("classops.edu/at")) or \
                kube_time(snap.metadata.get("creationTimestamp"))
            when = stamp(at) if at else snap.name
            size = str(snap.status.get("restoreSize") or size)
            source = f"snapshot {snap.name}"
        else:
            from shared.ports.s3 import S3
            from shared.ports.s3 import connect as connect_s3

            if not env.s3_bucket:
                raise UsageError("no bucket: set CLASSOPS_S3_BUCKET")
            store = S3(connect_s3(env.s3_endpoint, env.s3_region), env.s3_bucket)
            found = copies(store, Place(prefix, owner))
            if which:
                day = which.replace("-", "")
                found = [t for t in found if t == which or t.startswith(day + "T")]
            if not found:
                raise UsageError(f"no copy{' of ' + which if which else ''} of {owner} under "
                                 f"s3://{env.s3_bucket}/{prefix}/")
            when = found[-1]
            source = f"copy s3://{env.s3_bucket}/{Place(prefix, owner).archive(when)}"
        day = f"{parse_stamp(when):%Y-%m-%dT%H%M}" if when[:1].isdigit() else when
        name = args.into or plan.name_for(owner, when, kind)
        made: dict[str, Any] = {"user": owner.user, "server": owner.server, "from": source}
        if not args.into_home and kube.get("v1", "PersistentVolumeClaim", name, ns) is not None:
            raise UsageError(f"PVC {ns}/{name} exists: a restore never overwrites; "
                             "give --into NEW-NAME")
        if kind == "snapshot" and not args.into_home:
            kube.create(plan.claim(name, ns, owner, size, storage_class, snap.name))
            made["into"] = f"pvc {ns}/{name}"
            return _done(args, made, f"created PVC {ns}/{name} ({size}) from {source}")
        if args.into_home and kube.get("batch/v1", "Job", f"{name}-home", ns) is not None:
            raise UsageError(f"already restored: job {ns}/{name}-home put {source} into "
                             f"restored/{day}/ of {owner}'s home; a restore never overwrites")
        if args.into_home:
            assert home is not None
            target, mounts = f"/home/restored/{day}", {home.name: ("/home", False)}
            made["into"] = f"pvc {ns}/{home.name}: restored/{day}/"
        else:
            target, mounts = "/restore", {name: ("/restore", False)}
            made["into"] = f"pvc {ns}/{name}"
            kube.create(plan.claim(name, ns, owner, size, storage_class))
        scratch = ""
        if kind == "snapshot":
            scratch = f"{name}-src"
            kube.create(plan.claim(scratch, ns, owner, size, storage_class, snap.name))
            mounts = {scratch: ("/source", True), **mounts}
            command = plan.from_folder("/source", target)
        else:
            command = plan.from_s3(prefix, owner, target, when)
        job_name = f"{name}-job" if not args.into_home else f"{name}-home"
        try:
            kube.create(plan.job(job_name, ns, owner, image, command, mounts))
            ended = kube.wait_until("batch/v1", "Job", job_name, ns, _ended, args.wait, 2.0)
        finally:
            if scratch:
                kube.delete("v1", "PersistentVolumeClaim", scratch, ns)
        ok = ended is not None and any(c.get("type") == "Complete" and c.get("status") == "True"
                                       for c in ended.status.get("conditions") or [])
        made["job"], made["ok"] = f"{ns}/{job_name}", ok
        text = (f"restored {owner} from {source} into {made['into']} (job {job_name})" if ok
                else f"FAILED: job {ns}/{job_name} restoring {owner} from {source}: "
                     f"{_log_tail(kube, job_name, ns)}")
        _done(args, made, text)
        return 0 if ok else 1
    finally:
        kube.close()


def _ended(found: Any) -> bool:
    return found is None or any(c.get("type") in ("Complete", "Failed") and
                                c.get("status") == "True"
                                for c in found.status.get("conditions") or [])


def _log_tail(kube: Any, job: str, namespace: str) -> str:
    pods = list(kube.list("v1", "Pod", namespace, f"job-name={job}"))
    text = kube.log(pods[-1].name, namespace) if pods else ""
    return " | ".join(text.strip().splitlines()[-3:]) or "no log"


def _done(args: argparse.Namespace, made: dict[str, Any], text: str) -> int:
    print(json.dumps(made, indent=1) if args.output == "json" else text)
    return 0
