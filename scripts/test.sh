#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Installs what the tests need (S3-compatible server, …) into the repo's own ignored folders,
# then runs every test of the workspace. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

# Real template data for the tests lives beside the repo (../shared/data); tests find it
# through this variable.
export TUNGGAL_SHARED_DATA="${TUNGGAL_SHARED_DATA:-$(cd .. && pwd)/shared/data}"

# The build of scripts/quickstart.sh must serve this one too (one build of DataFusion, not two).
./scripts/check-one-build.sh

cargo test --workspace --no-fail-fast
