"""Per-student copies in S3 that anyone can open: a tar.gz per home and copy, its manifest
last (the commit record), incremental by size and mtime, restores that never overwrite.

Kept free of imports so that `classops` starts without boto3 or ISA-L; the API lives in:

    from shared.archive.layout import Owner, Place            # keys (pure)
    from shared.archive.worker import Home, Options, archive_homes, homes_in, copies
    from shared.archive.reading import read_latest, read_manifest   # no packing: restores
    from shared.archive.restoring import find, verify, restore

    s3 = S3(connect(endpoint, pool=jobs + 4), bucket)             # shared.ports.s3
    done = archive_homes(s3, "cs101/fall-2026", homes_in(src), "20261207T030000Z",
                         Options(jobs=4, extras=note_for_student))  # [Copy], never raises per home
    manifest = find(s3, "cs101/fall-2026", Owner("alice"))         # newest, or timestamp=
    checked = verify(s3, manifest)                                   # .ok, .problems; no writes
    checked = restore(s3, manifest, Path("/scratch/alice"))         # a new or empty folder only
"""
