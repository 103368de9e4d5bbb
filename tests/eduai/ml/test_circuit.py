from collections.abc import Iterator

import pytest
from django.test import override_settings

from eduai.ml.circuit import CircuitBreaker, CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail() -> int:
    raise ConnectionError("model server down")


@override_settings(EDUAI_BREAKER_FAILURES=3, EDUAI_BREAKER_RESET_SECONDS=30)
def test_opens_after_consecutive_failures_then_one_trial_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker("generator", clock=clock)
    calls = []

    def ok() -> int:
        calls.append(1)
        return 7

    for _ in range(2):
        with pytest.raises(ConnectionError, match="down"):
            breaker.call(_fail)
    assert breaker.call(ok) == 7  # a success in between resets the count
    for _ in range(3):
        with pytest.raises(ConnectionError, match="down"):
            breaker.call(_fail)
    assert breaker.is_open
    with pytest.raises(CircuitOpenError, match="failed 3 times in a row; not called again for 30 s"):
        breaker.call(ok)
    assert calls == [1]  # not called while open
    clock.now += 31
    assert breaker.call(ok) == 7  # the trial call
    assert not breaker.is_open


@override_settings(EDUAI_BREAKER_FAILURES=1, EDUAI_BREAKER_RESET_SECONDS=10)
def test_a_failed_trial_opens_it_again_and_bad_input_does_not_count() -> None:
    clock = Clock()
    breaker = CircuitBreaker("encoder", clock=clock)

    def bad_input() -> int:
        raise ValueError("empty text")

    for _ in range(3):
        with pytest.raises(ValueError, match="empty"):
            breaker.call(bad_input)
    assert not breaker.is_open
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    clock.now += 11
    with pytest.raises(ConnectionError):
        breaker.call(_fail)  # the trial fails
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: 1)
    assert isinstance(CircuitOpenError("x"), ConnectionError)  # tasks retry it as transient


@override_settings(EDUAI_BREAKER_FAILURES=1, EDUAI_BREAKER_RESET_SECONDS=10)
def test_streams_that_break_midway_count() -> None:
    breaker = CircuitBreaker("generator", clock=Clock())

    def pieces() -> Iterator[str]:
        yield "The "
        raise RuntimeError("CUDA error")

    received: list[str] = []

    def consume() -> None:
        received.extend(breaker.stream(pieces))

    with pytest.raises(RuntimeError, match="CUDA"):
        consume()
    assert received == ["The "]
    with pytest.raises(CircuitOpenError):
        list(breaker.stream(lambda: iter(["x"])))
