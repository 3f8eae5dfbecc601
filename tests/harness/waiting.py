"""Waiting for a condition with a deadline instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class NotInTime(AssertionError):
    """A condition that did not hold before its deadline."""


def eventually(check: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Calls `check` until it returns something truthy and returns that.

    An exception raised by `check` (a refused connection, a parse error) counts as "not yet";
    the last one is named in the `NotInTime` raised after `timeout` seconds, with `what`.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - any failure of the check means "not yet"
            last_error = err
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise NotInTime(f"{what}: not within {timeout:g} s{detail}")
        time.sleep(every)
