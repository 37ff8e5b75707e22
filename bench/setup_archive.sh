#!/usr/bin/env bash
# The tools bench/archive.py compares with: awscli (PyPI, the `bench` extra) and rclone and
# restic (Debian). Run from the repository root after .ci/setup; needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install --quiet -e '.[bench]'
if ! command -v rclone >/dev/null 2>&1 || ! command -v restic >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq rclone restic
fi
rclone version | head -1
restic version
.venv/bin/aws --version
