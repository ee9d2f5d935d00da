#!/usr/bin/env python3
"""Benchmark (not a test): finger 1:1 comparisons/s/core of the matcher at an earlier
revision against the working tree, side by side in one process (issue 21's speed rounds).

    python3 scripts/ab-finger.py                 # HEAD against the working tree
    python3 scripts/ab-finger.py ee503dd --rounds 31 --fvc ../shared/data/fvc2002/DB1_B

The `biometrics` crate of REV is copied out of git and renamed `bio_old`; a small program
(`scripts/ab-finger/main.rs`) links it beside the working tree's `biometrics`, prepares the
FVC folder's templates with each, checks that both score every pair bit for bit alike, then
alternates the two over all pairs round by round, each round timed in the thread's CPU time
(so other load on the machine hardly moves the figures). It prints the best round of each
and the median of the per-round ratios. Release build in `$CARGO_TARGET_DIR/ab-finger`
(default `target/ab-finger`): about a minute the first time.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import io
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def workspace_versions() -> dict:
    """The `[workspace.dependencies]` of the root manifest: what `x.workspace = true` means."""
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["dependencies"]


def dependency_line(name: str, spec) -> str:
    """One `[dependencies]` line of the standalone copy."""
    if isinstance(spec, str):
        return f'{name} = "{spec}"'
    fields = ", ".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v).replace(chr(39), chr(34))}"
        for k, v in spec.items()
    )
    return f"{name} = {{ {fields} }}"


def old_crate(rev: str, dest: pathlib.Path) -> None:
    """The `biometrics` crate of `rev` as a standalone crate `bio_old` in `dest`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "biometrics"],
        check=True, capture_output=True,
    ).stdout
    shutil.rmtree(dest, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest.parent / "extract", filter="data")
    shutil.move(dest.parent / "extract" / "biometrics", dest)
    shutil.rmtree(dest.parent / "extract")
    with open(dest / "Cargo.toml", "rb") as f:
        manifest = tomllib.load(f)
    versions = workspace_versions()
    deps = []
    for name, spec in manifest.get("dependencies", {}).items():
        if isinstance(spec, dict) and spec.get("workspace"):
            spec = versions[name]
        deps.append(dependency_line(name, spec))
    for sub in ("benches", "tests", "examples"):
        shutil.rmtree(dest / sub, ignore_errors=True)
    (dest / "Cargo.toml").write_text(
        '[package]\nname = "bio_old"\nversion = "0.0.0"\nedition = "2021"\n\n'
        "[dependencies]\n" + "\n".join(deps) + "\n"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rev", nargs="?", default="HEAD", help="the old revision (default HEAD)")
    p.add_argument("--rounds", type=int, default=21, help="alternated rounds (default 21)")
    p.add_argument(
        "--fvc",
        default=os.environ.get("FVC_DIR", str(ROOT.parent / "shared/data/fvc2002/DB1_B")),
        help="folder of ISO 19794-2 records (default ../shared/data/fvc2002/DB1_B)",
    )
    args = p.parse_args()
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "ab-finger"
    work = target / "src"
    (work / "src").mkdir(parents=True, exist_ok=True)
    old_crate(args.rev, work / "bio_old")
    shutil.copy(ROOT / "scripts/ab-finger/main.rs", work / "src/main.rs")
    (work / "Cargo.toml").write_text(
        '[package]\nname = "ab-finger"\nversion = "0.0.0"\nedition = "2021"\n\n'
        "[dependencies]\n"
        'bio_old = { path = "bio_old" }\n'
        f'biometrics = {{ path = "{ROOT / "biometrics"}" }}\n'
        'libc = "0.2"\n\n'
        "[workspace]\n"
    )
    print(f"old: biometrics at {args.rev}; new: the working tree ({ROOT})", flush=True)
    build = subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path", str(work / "Cargo.toml")],
        env={**os.environ, "CARGO_TARGET_DIR": str(target / "build")},
    )
    if build.returncode != 0:
        return build.returncode
    exe = target / "build/release/ab-finger"
    return subprocess.run([str(exe), args.fvc, str(args.rounds)]).returncode


if __name__ == "__main__":
    sys.exit(main())
