#!/usr/bin/env bash
# Regenerate requirements/lock.txt from pyproject.toml: every runtime dependency and the `dev`
# extra, pinned with their sha256 hashes, for CPython 3.11 on Linux. Run it from anywhere after
# changing dependencies in pyproject.toml (keep environment.yml's pins in step by hand), then
# commit the lock; tests/test_lock.py fails while the two disagree.
#
# Needs uv (pip install uv). It resolves against PyPI only (uv reads no pip.conf), so the
# hashes are the ones PyPI serves. Extra arguments go to uv, e.g.
#   requirements/update-lock.sh --upgrade-package pandas    # move one package
#   requirements/update-lock.sh --upgrade                   # move everything
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || { echo "update-lock.sh: uv not found; pip install uv" >&2; exit 1; }
uv pip compile pyproject.toml --extra dev \
    --python-version 3.11 --python-platform linux \
    --generate-hashes --quiet \
    --custom-compile-command "requirements/update-lock.sh" \
    --output-file requirements/lock.txt "$@"
