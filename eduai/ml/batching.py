"""Groups concurrent requests into one model call.

Worker threads (the inference queue runs on Celery's threads pool) each submit one request; a
single background thread takes the first waiting request, gathers whatever else arrives within
``max_wait_seconds`` (up to ``max_batch`` requests), runs them as one batch and hands each caller
its own result. A lone request waits at most ``max_wait_seconds``.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")


class MicroBatcher(Generic[Request, Result]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[Request]], list[Result]],
        *,
        max_batch: int,
        max_wait_seconds: float,
        name: str,
    ) -> None:
        if max_batch < 1 or max_wait_seconds < 0:
            raise ValueError("max_batch must be at least 1 and max_wait_seconds not negative.")
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._max_wait = max_wait_seconds
        self._pending: queue.Queue[tuple[Request, Future[Result]]] = queue.Queue()
        self._thread = threading.Thread(target=self._serve_forever, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> Future[Result]:
        future: Future[Result] = Future()
        self._pending.put((request, future))
        return future

    def _collect(self) -> list[tuple[Request, Future[Result]]]:
        batch = [self._pending.get()]
        deadline = time.monotonic() + self._max_wait
        while len(batch) < self._max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._pending.get(timeout=remaining) if remaining > 0 else self._pending.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _serve_forever(self) -> None:
        while True:
            batch = [
                (request, future)
                for request, future in self._collect()
                if future.set_running_or_notify_cancel()
            ]
            if not batch:
                continue
            try:
                results = self._run_batch([request for request, _ in batch])
            except Exception as error:  # every caller gets the batch's error
                logger.exception("Batch of %d failed", len(batch))
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
