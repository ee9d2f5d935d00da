#!/usr/bin/env bash
# The 1:N search on one machine beside a Ballista cluster on the same machine (a scheduler
# and two executors), as docs/scale.md measures it:
#
#   scripts/bench-cluster.sh SCRATCH [GALLERY] [PROBES] [KEEP_UNITS]
#
# SCRATCH holds the gallery cache (built on the first run: ~1 h for 1,000,000 on 2 cores),
# the store the bench copies the gallery into, and the processes' logs. Defaults: 1,000,000
# members, 10,000 probes, --keep-units 3. TUNGGAL names the binary (default: the release build
# in the shared target dir). Prints the bench's table and each executor's peak RSS.
set -euo pipefail
SCRATCH=${1:?usage: scripts/bench-cluster.sh SCRATCH [GALLERY] [PROBES] [KEEP_UNITS]}
GALLERY=${2:-1000000}
PROBES=${3:-10000}
KEEP=${4:-3}
TUNGGAL=${TUNGGAL:-${CARGO_TARGET_DIR:-target}/release/tunggal}
PORT=52050
mkdir -p "$SCRATCH/cache"
rm -rf "$SCRATCH/store" "$SCRATCH/ex1" "$SCRATCH/ex2"
mkdir -p "$SCRATCH/store" "$SCRATCH/ex1" "$SCRATCH/ex2"
"$TUNGGAL" scheduler --bind 127.0.0.1:$PORT >"$SCRATCH/scheduler.log" 2>&1 &
pids=($!)
trap 'kill -INT "${pids[@]}" 2>/dev/null; wait' EXIT
sleep 3
for i in 1 2; do
    /usr/bin/time -v "$TUNGGAL" --store "$SCRATCH/store" executor --scheduler 127.0.0.1:$PORT \
        --bind 127.0.0.1:$((PORT + 2 * i - 1)) --slots 1 --work-dir "$SCRATCH/ex$i" \
        --keep-units "$KEEP" 2>"$SCRATCH/ex$i.log" &
    pids+=($!)
done
sleep 5
"$TUNGGAL" --store "$SCRATCH/store" bench dedup --gallery "$GALLERY" --probes "$PROBES" \
    --mate-rate 0.02 --partition-size 5000 --cache "$SCRATCH/cache" --resident-gib 3 \
    --brute-pairs 2000 --cluster df://127.0.0.1:$PORT
# The executors (not the `time` processes around them, which ignore SIGINT) stop on SIGINT.
pkill -INT -f "tunggal --store $SCRATCH/store executor" || true
sleep 5
grep -h "Maximum resident" "$SCRATCH"/ex*.log || true
