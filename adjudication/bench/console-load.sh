#!/usr/bin/env bash
# Load benchmark of the adjudication console: CONNECTIONS concurrent adjudicators (default 50)
# browsing the queue and case pages and claiming/releasing cases for DURATION, measured with
# wrk on loopback against `tunggal console` over the store STORE (which must already hold
# ingested enrollments and clusters, e.g. from `tunggal synth` + `tunggal nightly`).
#
#   adjudication/bench/console-load.sh STORE [CONNECTIONS] [DURATION]
#
# Prints wrk's p50/p90/p99 latency, requests/s and error counts. Needs wrk, curl and a built
# `tunggal` (TUNGGAL, default /work/target/debug/tunggal or target/debug/tunggal).
set -euo pipefail
STORE="$1"; CONNECTIONS="${2:-50}"; DURATION="${3:-30s}"
HERE="$(cd "$(dirname "$0")" && pwd)"
TUNGGAL="${TUNGGAL:-${CARGO_TARGET_DIR:-$HERE/../../target}/debug/tunggal}"
WORK="$(mktemp -d)"; trap 'kill $CONSOLE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TUNGGAL_CASE_DB="$WORK/cases.sqlite"
PASSWORD="load test password"
for i in $(seq 1 "$CONNECTIONS"); do
  TUNGGAL_PASSWORD="$PASSWORD" "$TUNGGAL" --store "$STORE" users add "bench$i" --role adjudicator > /dev/null
done
"$TUNGGAL" --store "$STORE" console --bind 127.0.0.1:0 > "$WORK/console.out" 2> "$WORK/console.err" &
CONSOLE_PID=$!
for _ in $(seq 1 600); do grep -q "listening" "$WORK/console.out" 2>/dev/null && break; sleep 0.1; done
BASE="$(sed -n 's/console listening on //p' "$WORK/console.out" | head -1)"
echo "console at $BASE"
: > "$WORK/sessions.txt"
for i in $(seq 1 "$CONNECTIONS"); do
  out="$(curl -s -D - -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench$i\",\"password\":\"$PASSWORD\"}" "$BASE/api/login")"
  csrf="$(echo "$out" | sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')"
  cookie="$(echo "$out" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: tunggal_session=\([^;]*\).*/\1/p')"
  echo "$cookie $csrf" >> "$WORK/sessions.txt"
done
read -r c0 _ < "$WORK/sessions.txt"
curl -s -H "Cookie: tunggal_session=$c0" "$BASE/api/cases" | grep -o '"case_id":"[^"]*"' | cut -d'"' -f4 > "$WORK/cases.txt"
echo "$(wc -l < "$WORK/cases.txt") open cases, $CONNECTIONS adjudicators, $DURATION"
# Warm the evidence cache the way a night's first look at each case would.
while read -r id; do curl -s -o /dev/null -H "Cookie: tunggal_session=$c0" "$BASE/cases/$id"; done < "$WORK/cases.txt"
(cd "$WORK" && wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" --latency -s "$HERE/console-load.lua" "$BASE")
