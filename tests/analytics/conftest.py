from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]


@pytest.fixture(autouse=True)
def _one_thread_per_model() -> Iterator[None]:
    # The tests' models are tiny: OpenMP threads only contend with each other (and with the other
    # processes on a shared machine), which made single tests take half a minute.
    with threadpool_limits(limits=1):
        yield
