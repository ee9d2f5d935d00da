#!/usr/bin/env bash
# Checks that `cargo build` (scripts/quickstart.sh) and `cargo test` (scripts/test.sh) resolve
# every dependency they share with the same features, so that the second reuses the first's
# build instead of compiling DataFusion and the rest of the stack again. A dev-dependency that
# turns on an extra feature of a shared crate breaks this; the fix is to give the workspace
# dependency that feature in the root Cargo.toml. Prints the crates that differ; exit 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."

features() {
    # Without `dev` in the edges, cargo tree also resolves features as `cargo build` does.
    cargo tree --workspace --edges "$1" --format '{p} [{f}]' --prefix none | sed 's/ (\*)$//' | sort -u
}

build=$(features normal,build)
test=$(features normal,build,dev)
# Crates in both resolutions (dev-only crates are expected to be extra) whose feature sets differ.
differ=$(comm -12 <(cut -d' ' -f1,2 <<<"$build" | sort -u) <(cut -d' ' -f1,2 <<<"$test" | sort -u) |
    while read -r name version; do
        a=$(grep -F "$name $version " <<<"$build" || true)
        b=$(grep -F "$name $version " <<<"$test" || true)
        [ "$a" = "$b" ] || printf 'build: %s\ntest:  %s\n' "$a" "$b"
    done)
if [ -n "$differ" ]; then
    echo "cargo build and cargo test resolve these dependencies differently:"
    echo "$differ"
    exit 1
fi
echo "cargo build and cargo test share one build of every dependency"
