"""A normal client asking one URL over and over in a background thread, recording every answer
(or failure) with its time: what a user saw while a drill broke something."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

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
    def __init__(self, url: str, every: float = 0.05, timeout: float = 3.0):
        self.url = url
        self.every = every
        self.timeout = timeout
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Prober":
        self._thread.start()
        return self

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
                response = httpclient.get(self.url, timeout=self.timeout)
                answer = Answer(sent, response.status, response.elapsed, response.body, tuple(response.headers.items()))
            except OSError:
                answer = Answer(sent, None, time.monotonic() - sent)
            self.answers.append(answer)
            self._stop.wait(max(0.0, self.every - (time.monotonic() - sent)))

    def __enter__(self) -> "Prober":
        return self.start()

    def __exit__(self, *_exc) -> None:
        if not self._stop.is_set():
            self.stop()
