"""The services' images, built from the repository's `Dockerfile`, run as containers with a
memory limit: started, reached on their bridge address (no port publishing, so no proxy process
sits between a client and the service), inspected, stopped. Uses the `docker` CLI and whatever
engine `DOCKER_HOST` names (the suites start one where none answers)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from .binaries import REPO_ROOT
from .processes import resident_kib

TAG = "drills"
"""The images' tag: the suites' own, so that no other tag (`local`, compose's) is replaced."""


def docker(*args: str, timeout: float = 60) -> str:
    """Runs `docker ARGS...`; its standard output, or `RuntimeError` with its error."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}...: {done.stderr.strip()}")
    return done.stdout


def build(target: str) -> str:
    """The image of `target` (`api-a`, `api-b`, `poller`) built from the repository's Dockerfile;
    returns its name. Docker's cache makes a rebuild of unchanged sources quick. The build stage's
    base is `RUST_IMAGE` when set (tests/stack/docker.sh sets it to the pinned image's name:tag,
    which tests/stack/base-images.sh provides), else the Dockerfile's digest."""
    image = f"btc-price/{target}:{TAG}"
    base = ["--build-arg", "RUST_IMAGE"] if os.environ.get("RUST_IMAGE") else []
    subprocess.run(
        ["docker", "build", "--quiet", *base, "--target", target, "--tag", image, "."],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=3600,
    )
    return image


def memory_limit(container: str, path: Path = REPO_ROOT / "manifests" / "base") -> str:
    """The memory limit of `container` in the manifests' base Deployments (e.g. `128Mi`)."""
    for manifest in path.glob("*/deployment.yaml"):
        text = manifest.read_text()
        block = re.search(rf"\n        - name: {re.escape(container)}\n(.*?)(?=\n        - name: |\Z)", text, re.S)
        if block and (limit := re.search(r"limits:\n(?:\s+\w+: .*\n)*?\s+memory: (\S+)", block.group(1))):
            return limit.group(1)
    raise LookupError(f"no memory limit for {container} in {path}")


def docker_memory(limit: str) -> str:
    """A Kubernetes quantity (`128Mi`, `1Gi`) as `docker run --memory` writes it."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", limit)
    if not match:
        raise ValueError(f"unsupported quantity {limit}")
    return f"{match.group(1)}{match.group(2)[0].lower()}"


class Container:
    """A container of `image` named `name`, started with `env` and at most `memory` (no swap)."""

    def __init__(self, name: str, image: str, env: dict[str, str], memory: str):
        self.name = name
        self.image = image
        self.env = env
        self.memory = memory

    def start(self) -> "Container":
        self.remove()
        env = [arg for key, value in self.env.items() for arg in ("--env", f"{key}={value}")]
        docker("run", "--detach", "--name", self.name, "--memory", self.memory, "--memory-swap", self.memory,
               "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", *env, self.image)  # fmt: skip
        return self

    def state(self) -> dict:
        return json.loads(docker("inspect", "--format", "{{json .State}}", self.name))

    @property
    def address(self) -> str:
        return docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", self.name).strip()

    def rss_kib(self) -> int:
        """The service's resident memory, read on the host from its process."""
        return resident_kib(self.state()["Pid"])

    def logs(self) -> list[dict]:
        lines = []
        for line in docker("logs", self.name).splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                lines.append({"message": line})
        return lines

    def stop(self, timeout: int = 30) -> int:
        """SIGTERM, then the exit code."""
        docker("stop", "--time", str(timeout), self.name, timeout=timeout + 30)
        return self.state()["ExitCode"]

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "--force", self.name], capture_output=True, timeout=60)

    def __enter__(self) -> "Container":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.remove()
