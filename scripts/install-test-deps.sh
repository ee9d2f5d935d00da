#!/usr/bin/env bash
# Installs what the tests need beyond cargo, into the repo's own ignored folders. Idempotent:
# a second run checks and returns in about a second.
#
# - .venv/ with moto[server]: the S3-compatible server the S3 tests start on 127.0.0.1.
#   moto honours `If-None-Match: *` (put-if-absent), which Delta Lake commits rely on; the
#   tests fail, naming this script, when .venv/bin/moto_server is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
PYTHON="${PYTHON:-python3}"

if [ -x .venv/bin/moto_server ] && .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "install-test-deps: moto $MOTO_VERSION already in .venv"
    exit 0
fi

echo "install-test-deps: creating .venv with moto[server]==$MOTO_VERSION"
"$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
.venv/bin/moto_server --help > /dev/null
echo "install-test-deps: done"
