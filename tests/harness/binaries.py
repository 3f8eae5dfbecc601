"""The release binaries of the three services (those copied out of the images, or built here as
the images build them), and the example that seeds a Redis with samples."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api-a", "api-b", "poller")


@dataclass(frozen=True)
class Binaries:
    api_a: Path
    api_b: Path
    poller: Path


def target_directory() -> Path:
    """Cargo's target directory, as Cargo resolves it (`CARGO_TARGET_DIR` included)."""
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(json.loads(metadata.stdout)["target_directory"])


def build_release() -> Binaries:
    """`cargo build --release --locked` of the three services; Cargo rebuilds only what changed."""
    packages = [arg for package in PACKAGES for arg in ("-p", package)]
    subprocess.run(["cargo", "build", "--release", "--locked", *packages], cwd=REPO_ROOT, check=True)
    return locate(target_directory() / "release")


def locate(release: Path) -> Binaries:
    """The binaries already built in `release` (e.g. another checkout's, to drill a change
    made there); fails if one is missing."""
    paths = {package: release / package for package in PACKAGES}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"not built: {', '.join(missing)}")
    return Binaries(api_a=paths["api-a"], api_b=paths["api-b"], poller=paths["poller"])


def build_seed() -> Path:
    """`api-a/examples/seed.rs` (writes a window of samples into a Redis, as the poller would),
    this checkout's, built by Cargo in its dev profile: a test tool, not a shipped binary, whose
    speed is the Redis round trips'. With the workspace's features, as `cargo test --workspace`
    (the rust suite) resolves them, so that it reuses every artefact of that build."""
    subprocess.run(["cargo", "build", "--workspace", "--locked", "--example", "seed"], cwd=REPO_ROOT, check=True)
    return target_directory() / "debug" / "examples" / "seed"
