#!/usr/bin/env bash
# Installs what the tests need beyond cargo, into the repo's own ignored folders. Idempotent:
# a second run checks and returns in about a second.
#
# - .venv/ with moto[server]: the S3-compatible server the S3 tests start on 127.0.0.1.
#   moto honours `If-None-Match: *` (put-if-absent), which Delta Lake commits rely on; the
#   tests fail, naming this script, when .venv/bin/moto_server is missing.
# - in the same .venv, the analysts' Python stack (issue 7): datafusion, deltalake, pyarrow,
#   matplotlib, nbclient/nbformat/ipykernel to execute notebooks/ headless, and the ADBC
#   Flight SQL driver the `serve-sql` test connects with (tests/flight_sql.rs, notebooks.rs),
#   and prometheus-client, whose parser reads `/metrics` and the nightly textfile in the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
PYTHON="${PYTHON:-python3}"

if [ -x .venv/bin/moto_server ] && .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "install-test-deps: moto $MOTO_VERSION already in .venv"
else
    echo "install-test-deps: creating .venv with moto[server]==$MOTO_VERSION"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    .venv/bin/moto_server --help > /dev/null
fi

# Analyst stack (notebooks, Flight SQL client). Pinned; checked by installed metadata only, so
# a second run costs a fraction of a second.
ANALYST_PACKAGES=(
    "datafusion==55.0.0"
    "deltalake==1.6.6"
    "pyarrow==26.0.1"
    "matplotlib==3.11.2"
    "nbclient==0.11.0"
    "nbformat==5.11.1"
    "ipykernel==7.4.0"
    "adbc-driver-flightsql==1.13.0"
    "adbc-driver-manager==1.13.0"
    "prometheus-client==0.26.0"
)
if .venv/bin/python - "${ANALYST_PACKAGES[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
except PackageNotFoundError:
    sys.exit(1)
PY
then
    echo "install-test-deps: analyst packages already in .venv"
else
    echo "install-test-deps: installing the analyst packages into .venv"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "${ANALYST_PACKAGES[@]}"
fi

# Browser test of the adjudication console (tests/console_browser.rs, issue 5): Debian's
# chromium (the tests never download a browser) and playwright-core, pinned by
# tests/browser/package-lock.json, into the ignored tests/browser/node_modules.
if [ -x /usr/bin/chromium ]; then
    echo "install-test-deps: chromium already installed"
else
    echo "install-test-deps: apt-get install chromium (about 95 s)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y chromium > /dev/null || { $SUDO apt-get update > /dev/null && $SUDO apt-get install -y chromium > /dev/null; }
fi
# The Flight SQL TLS test (tests/flight_sql.rs) makes its throwaway certificate with openssl.
if ! command -v openssl > /dev/null; then
    echo "install-test-deps: apt-get install openssl"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y openssl > /dev/null || { $SUDO apt-get update > /dev/null && $SUDO apt-get install -y openssl > /dev/null; }
fi
PLAYWRIGHT_VERSION="$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json)"
if [ -f tests/browser/node_modules/playwright-core/package.json ] \
    && grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" tests/browser/node_modules/playwright-core/package.json; then
    echo "install-test-deps: playwright-core $PLAYWRIGHT_VERSION already in tests/browser"
else
    echo "install-test-deps: npm ci of playwright-core $PLAYWRIGHT_VERSION into tests/browser"
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
echo "install-test-deps: done"
