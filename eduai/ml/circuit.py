"""A circuit breaker per model version: a backend that keeps failing is not called for a while.

Closed (normal): calls go through; `EDUAI_BREAKER_FAILURES` consecutive failures open it. Open:
calls fail at once with `CircuitOpenError` (tasks retry later with backoff instead of piling up
on a dead model server or a GPU in trouble). After `EDUAI_BREAKER_RESET_SECONDS` one trial call
is let through (half-open): success closes the breaker, failure opens it again. State is per
worker process, like the model cache. A `ValueError` is the caller's bad input, not the
backend's failure, and does not count.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")


class CircuitOpenError(ConnectionError):
    """The model backend failed repeatedly; it is not called until its breaker resets.

    A `ConnectionError`, so tasks treat it as transient and retry with backoff."""


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False


class CircuitBreaker:
    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._state = _State()
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._state.opened_at is not None

    def _admit(self) -> None:
        with self._lock:
            state = self._state
            if state.opened_at is None:
                return
            waited = self._clock() - state.opened_at
            if waited < settings.EDUAI_BREAKER_RESET_SECONDS or state.trial_running:
                retry = max(0.0, settings.EDUAI_BREAKER_RESET_SECONDS - waited)
                raise CircuitOpenError(
                    f"{self.name} failed {state.failures} times in a row; not called again for {retry:.0f} s"
                )
            state.trial_running = True

    def _succeeded(self) -> None:
        with self._lock:
            self._state = _State()

    def _failed(self) -> None:
        with self._lock:
            state = self._state
            state.failures += 1
            state.trial_running = False
            if state.opened_at is not None or state.failures >= settings.EDUAI_BREAKER_FAILURES:
                state.opened_at = self._clock()

    def call(self, function: Callable[[], T]) -> T:
        self._admit()
        try:
            result = function()
        except ValueError:
            self._release_trial()
            raise
        except Exception:
            self._failed()
            raise
        self._succeeded()
        return result

    def stream(self, pieces: Callable[[], Iterator[str]]) -> Iterator[str]:
        """Guard a streamed answer: failing before or during the stream counts."""
        self._admit()
        try:
            yield from pieces()
        except GeneratorExit:  # the caller stopped reading (e.g. a guard cut the answer): it worked
            self._succeeded()
            raise
        except ValueError:
            self._release_trial()
            raise
        except Exception:
            self._failed()
            raise
        self._succeeded()

    def _release_trial(self) -> None:
        with self._lock:
            self._state.trial_running = False


_breakers: dict[int, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(version_id: int, name: str) -> CircuitBreaker:
    with _breakers_lock:
        if version_id not in _breakers:
            _breakers[version_id] = CircuitBreaker(name)
        return _breakers[version_id]
