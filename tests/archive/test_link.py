"""`classops link`: a URL to a student's newest copy that opens without credentials."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path

from shared.archive.worker import archive_homes
from tests.servers.fixtures import S3Bucket

from .homes import make_home, port
from .test_failures import classops, env_for

PREFIX = "cs101/fall-2026"


def test_a_link_opens_the_newest_copy_and_warns_about_temporary_credentials(
        s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    home = make_home(tmp_path / "src", "alice@uni.edu")
    archive_homes(store, PREFIX, [home], "20261207T020000Z")
    run = [classops(), "link", "alice@uni.edu", "--prefix", PREFIX, "--bucket", s3.name,
           "--endpoint-url", s3.endpoint.endpoint_url]
    done = subprocess.run([*run, "-o", "json", "--expires", "2d"], env=env_for(s3),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    link = json.loads(done.stdout)
    assert (link["timestamp"], link["expires_seconds"]) == ("20261207T020000Z", 2 * 86400)
    assert "warning" not in done.stderr
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(link["url"], timeout=30) as answer:
        assert hashlib.sha256(answer.read()).hexdigest() == link["sha256"]

    too_long = subprocess.run([*run, "--expires", "8d"], env=env_for(s3),
                              capture_output=True, text=True, timeout=120)
    assert too_long.returncode == 2 and "up to 7 days" in too_long.stderr
    # The test server knows no STS, so it refuses the session token; the warning comes first.
    temporary = subprocess.run(run, env={**env_for(s3), "AWS_SESSION_TOKEN": "from-sts"},
                               capture_output=True, text=True, timeout=120)
    assert "warning: signed with temporary credentials" in temporary.stderr
