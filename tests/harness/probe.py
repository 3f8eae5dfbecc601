"""A normal client asking one URL over and over in a background thread, recording every answer
(or failure) with its time: what a user saw while a drill broke something. Each request on a
new connection, or (`keep_alive`) all on one connection opened at the start, as a proxy's pool
of upstream connections does (a new one after a failure); from another loopback address
(`source`) to be another client than the drill's others."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import httpclient


@dataclass(frozen=True)
class Answer:
    at: float
    """time.monotonic() when the request was sent."""
    status: int | None
    """None: no answer (refused, reset, or no answer within the timeout)."""
    elapsed: float
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        return dict(self.headers).get(name)


class Prober:
    def __init__(
        self, url: str, every: float = 0.05, timeout: float = 3.0, keep_alive: bool = False, source: str | None = None
    ):
        self.url = url
        self.source = source
        self.every = every
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._connection: http.client.HTTPConnection | None = None
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Prober":
        if self.keep_alive:
            self._connection = self._connect()
        self._thread.start()
        return self

    def _connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        source = (self.source, 0) if self.source else None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout, source_address=source)
        connection.connect()
        return connection

    def _ask(self) -> httpclient.Response:
        if self._connection is None:
            return httpclient.get(self.url, timeout=self.timeout, source=self.source)
        started = time.monotonic()
        parts = urlsplit(self.url)
        try:
            self._connection.request("GET", parts.path or "/")
            answer = self._connection.getresponse()
            body = answer.read()
        except (OSError, http.client.HTTPException) as err:
            self._connection.close()  # the next request opens a new one
            raise OSError(f"on the kept connection: {err}") from err
        headers = {name.lower(): value for name, value in answer.getheaders()}
        return httpclient.Response(answer.status, body, time.monotonic() - started, headers)

    def stop(self) -> list[Answer]:
        self._stop.set()
        self._thread.join()
        return self.answers

    def between(self, start: float, end: float = float("inf")) -> list[Answer]:
        return [a for a in list(self.answers) if start <= a.at < end]

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                response = self._ask()
                answer = Answer(sent, response.status, response.elapsed, response.body, tuple(response.headers.items()))
            except OSError:
                answer = Answer(sent, None, time.monotonic() - sent)
            self.answers.append(answer)
            self._stop.wait(max(0.0, self.every - (time.monotonic() - sent)))
        if self._connection is not None:
            self._connection.close()

    def __enter__(self) -> "Prober":
        return self.start()

    def __exit__(self, *_exc) -> None:
        if not self._stop.is_set():
            self.stop()
