"""Fuzzing the upload reader: whatever bytes arrive, the answer is text or a `DocumentError`
with a message, never another exception (which would be a 500 and a lost upload).

CI runs a fixed (derandomised) set of examples; `FUZZ_EXAMPLES=5000 pytest tests/fuzz` explores
new random ones (see bench/README.md)."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduai.documents import SUFFIXES, DocumentError, extract_text
from tests.eduai.documents.files import docx_bytes, pdf_bytes

EXPLORE = os.environ.get("FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(EXPLORE or 150),
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SEEDS = {
    ".pdf": pdf_bytes("Photosynthesis turns light into chemical energy.", "Page two"),
    ".docx": docx_bytes([("Heading1", "Cells"), ("", "The nucleus holds DNA.")]),
    ".html": b"<h1>Cells</h1><p>A cell is the <b>unit</b> of life.</p>",
    ".txt": "Photosynthesis 光合作用".encode(),
}


def _read(filename: str, data: bytes) -> None:
    outcome: str | DocumentError
    try:
        outcome = extract_text(filename=filename, data=data)
    except DocumentError as error:
        outcome = error
    if isinstance(outcome, DocumentError):
        assert str(outcome)
    else:
        assert outcome
        assert "\x00" not in outcome


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_arbitrary_bytes(suffix: str, data: bytes) -> None:
    _read("upload" + suffix, data)


@FUZZ
@given(
    suffix=st.sampled_from(sorted(SEEDS)),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=12),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_damaged_real_files(suffix: str, flips: list[tuple[int, int]], cut: int | None) -> None:
    """Valid files with bytes overwritten and tails cut off: the malformed PDFs and .docx a
    broken upload or a hostile student produces."""
    data = bytearray(SEEDS[suffix])
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _read("upload" + suffix, bytes(data))


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_seeds_are_readable(suffix: str) -> None:
    assert extract_text(filename="upload" + suffix, data=SEEDS[suffix])
