#!/usr/bin/env bash
# First run on a fresh machine: build tunggal, synthesize a small country into the embedded
# default store (./tunggal-data, a local folder — no servers), run the nightly job and show
# what happened. Safe to run again: the second run finds nothing new to do.
set -euo pipefail
cd "$(dirname "$0")/.."

PEOPLE="${PEOPLE:-2000}"
SEED="${SEED:-1}"

# One build serves this script and scripts/test.sh: `cargo build` and `cargo test` compile the
# dependencies once, as long as both resolve every shared dependency with the same features.
# They do only because the root Cargo.toml gives serde the `alloc` feature that a
# dev-dependency (criterion, through ciborium) would otherwise add under `cargo test` alone —
# and a different serde means a different build of everything above it (DataFusion, arrow,
# delta), i.e. a second full build. scripts/check-one-build.sh checks that this still holds.
echo "== building tunggal (debug profile with optimised dependencies; the first build takes 40+ min on 2 cores and ~28 GB of disk, later ones a few minutes)"
cargo build --workspace --bins
TUNGGAL="${CARGO_TARGET_DIR:-target}/debug/tunggal"

echo "== synthesizing a country of ${PEOPLE} enrollees (seed ${SEED}) into ./tunggal-data"
"$TUNGGAL" synth --people "$PEOPLE" --seed "$SEED"

echo "== nightly job"
"$TUNGGAL" nightly

echo "== what landed, by status and reason"
"$TUNGGAL" sql "SELECT status, reason_code, count(*) AS packets FROM packets GROUP BY status, reason_code ORDER BY packets DESC"

echo "== identity status after 1:N deduplication"
"$TUNGGAL" sql "SELECT status, count(*) AS enrollments FROM identity_status GROUP BY status ORDER BY enrollments DESC"

echo "== deduplication against the planted truth"
"$TUNGGAL" eval dedup
