import threading
import time

import pytest

from eduai.ml.batching import MicroBatcher


def test_concurrent_requests_share_a_batch_and_get_their_own_results():
    sizes: list[int] = []

    def double(batch):
        sizes.append(len(batch))
        time.sleep(0.05)  # a model call: requests arriving meanwhile form the next batch
        return [value * 2 for value in batch]

    batcher = MicroBatcher(double, max_batch=4, max_wait_seconds=0.05, name="test")
    start = threading.Barrier(8)
    results: dict[int, int] = {}

    def call(value: int) -> None:
        start.wait()
        results[value] = batcher.submit(value).result(timeout=5)

    threads = [threading.Thread(target=call, args=(value,)) for value in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {value: value * 2 for value in range(8)}
    assert max(sizes) > 1
    assert max(sizes) <= 4
    assert sum(sizes) == 8


def test_a_lone_request_is_served_without_waiting_for_company():
    batcher: MicroBatcher[str, str] = MicroBatcher(list, max_batch=8, max_wait_seconds=0.02, name="test")
    assert batcher.submit("alone").result(timeout=5) == "alone"


def test_a_failing_batch_fails_every_request_in_it_and_the_batcher_goes_on():
    calls = {"count": 0}

    def flaky(batch):
        calls["count"] += 1
        if calls["count"] == 1:
            raise RuntimeError("device fell over")
        return list(batch)

    batcher = MicroBatcher(flaky, max_batch=8, max_wait_seconds=0.0, name="test")
    with pytest.raises(RuntimeError, match="device fell over"):
        batcher.submit(1).result(timeout=5)
    assert batcher.submit(2).result(timeout=5) == 2


def test_settings_are_validated():
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda batch: list(batch), max_batch=0, max_wait_seconds=0.01, name="test")
