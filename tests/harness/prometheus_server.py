"""The parts of Prometheus's HTTP API the tests read, and a real Prometheus (Debian's package) on
a free loopback port with its own config and data directory."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from . import httpclient
from .processes import Process, free_port


class PrometheusApi:
    """The parts of a running Prometheus's HTTP API the tests read."""

    def __init__(self, url: str):
        self.url = url

    def api(self, path: str, **params: str):
        """The `data` of a successful answer of `/api/v1/<path>`; raises on any other answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        response = httpclient.get(f"{self.url}/api/v1/{path}{query}", timeout=5)
        answer = json.loads(response.body)
        if response.status != 200 or answer.get("status") != "success":
            raise PrometheusError(f"/api/v1/{path} {params}: {response.status} {answer.get('error', answer)}")
        return answer["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant vector (or scalar, as one sample) `expr` gives now."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def targets(self) -> list[dict]:
        return self.api("targets", state="active")["activeTargets"]

    def alerts(self) -> list[dict]:
        """The active alerts: each with `labels`, `state` (`pending` or `firing`), `activeAt`."""
        return self.api("alerts")["alerts"]

    def alerting_rules(self) -> list[dict]:
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"] if rule["type"] == "alerting"]


class PrometheusServer(PrometheusApi):
    """Debian's Prometheus run on a free loopback port with `config`, its data in `workdir`."""

    def __init__(self, workdir: Path, config: Path):
        self.workdir = workdir
        self.config = config
        self.port = free_port()
        self.process: Process | None = None
        super().__init__(f"http://127.0.0.1:{self.port}")

    def start(self) -> "PrometheusServer":
        """Starts it and waits until it is ready (its rules loaded, its storage open)."""
        argv = [
            "prometheus",
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.process = Process("prometheus", argv, self.workdir).start()
        self.process.wait_http(f"{self.url}/-/ready", timeout=30)
        return self

    def __enter__(self) -> "PrometheusServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        if self.process is not None:
            self.process.kill()


class PrometheusError(AssertionError):
    """Prometheus refused a request or answered an error."""
