"""The three services started as their release binaries, each on its own free port with JSON
logs, and awaited until they serve. Everything else comes from the caller's environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .binaries import Binaries
from .processes import Process, free_port

# The base paths the gateway routes (`gateway/nginx.conf`): the services serve under them.
SERVICE_A_BASE_PATH = "/service1"
SERVICE_B_BASE_PATH = "/service2"


@dataclass
class Service:
    """A running service binary and the port it listens on."""

    process: Process
    port: int

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def name(self) -> str:
        return self.process.name

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *_exc) -> None:
        self.process.kill()


def start(
    name: str,
    binary: Path,
    workdir: Path,
    env: dict[str, str],
    ready_path: str = "/readyz",
    port: int | None = None,
    timeout: float = 15.0,
) -> Service:
    """Starts `binary` as `name` on `port` (a free one by default) and waits until `ready_path`
    answers 200 (`/healthz` for a service that is not ready before it has data)."""
    port = port or free_port()
    process = Process(
        name,
        [str(binary)],
        workdir,
        env={"LISTEN_ADDR": f"127.0.0.1:{port}", "LOG_FORMAT": "json", **env},
    ).start()
    service = Service(process, port)
    try:
        process.wait_http(service.url(ready_path), timeout=timeout)
    except BaseException:
        process.kill()
        raise
    return service


def start_api_a(binaries: Binaries, workdir: Path, redis_url: str, name: str = "api-a", **kwargs) -> Service:
    """api-a under `/service1`, reading `redis_url`. Waits for `/readyz` unless told otherwise:
    ready means Redis answered with a price."""
    env = {"BASE_PATH": SERVICE_A_BASE_PATH, "REDIS_URL": redis_url, **kwargs.pop("env", {})}
    return start(name, binaries.api_a, workdir, env, **kwargs)


def start_api_b(binaries: Binaries, workdir: Path, name: str = "api-b", **kwargs) -> Service:
    """api-b under `/service2`."""
    env = {"BASE_PATH": SERVICE_B_BASE_PATH, **kwargs.pop("env", {})}
    return start(name, binaries.api_b, workdir, env, **kwargs)


def start_poller(
    binaries: Binaries, workdir: Path, redis_url: str, exchange_env: dict[str, str], name: str = "poller", **kwargs
) -> Service:
    """The poller writing to `redis_url`, asking the providers `exchange_env` names
    (`PROVIDERS` and each `<PROVIDER>_URL`, see `exchange.FakeExchange.env`)."""
    env = {"REDIS_URL": redis_url, **exchange_env, **kwargs.pop("env", {})}
    return start(name, binaries.poller, workdir, env, **kwargs)
