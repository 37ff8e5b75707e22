#!/bin/sh
# Fetch or update the course materials into ~/materials at each server start, never touching the
# student's own files: a first start clones, later starts pull only if the clone is clean.
set -eu
url="${COURSE_MATERIALS_URL:-}"
[ -n "$url" ] || exit 0
target="${HOME:-/home/jovyan}/materials"
if [ ! -d "$target/.git" ]; then
    git clone --depth 1 "$url" "$target" || echo "materials: clone of $url failed" >&2
elif [ -z "$(git -C "$target" status --porcelain)" ]; then
    git -C "$target" pull --ff-only || echo "materials: update failed, kept as is" >&2
else
    echo "materials: local changes in $target, not updated" >&2
fi
exit 0
