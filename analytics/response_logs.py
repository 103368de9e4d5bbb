"""Reading response logs for knowledge-tracing evaluation: the DKT three-line format and long CSV.

dkt3 (the DKT paper's ASSISTments files): per student three lines, the number of responses, the
skill ids, the correctness (0/1), comma-separated (a trailing comma is allowed).
long: a CSV with the header ``student_id,skill_id,correct,order``; one row per response.
A malformed file raises ``ResponseLogError`` naming the file and the line.
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FORMATS = ("dkt3", "long")
LONG_COLUMNS = ["student_id", "skill_id", "correct", "order"]


class ResponseLogError(ValueError):
    pass


@dataclass(frozen=True)
class ResponseLog:
    """Responses grouped by student, each student's in the order they happened."""

    student: npt.NDArray[np.int64]  # a dense index per student
    skill: npt.NDArray[np.int64]  # the skill id as written in the file
    correct: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.correct)


def response_log_read(path: Path, log_format: str) -> ResponseLog:
    if log_format not in FORMATS:
        raise ResponseLogError(f"unknown format {log_format!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ResponseLogError(f"{path}: no such file")
    rows = list(_dkt3_rows(path) if log_format == "dkt3" else _long_rows(path))
    if not rows:
        raise ResponseLogError(f"{path}: no responses")
    columns = np.array(rows, dtype=np.int64)
    return ResponseLog(student=columns[:, 0], skill=columns[:, 1], correct=columns[:, 2].astype(np.float64))


def _integers(path: Path, number: int, line: str) -> list[int]:
    cells = [cell.strip() for cell in line.strip().rstrip(",").split(",")]
    try:
        return [int(cell) for cell in cells if cell != ""]
    except ValueError as error:
        raise ResponseLogError(f"{path}, line {number}: expected comma-separated integers") from error


def _correctness(path: Path, number: int, values: list[int]) -> list[int]:
    if any(value not in (0, 1) for value in values):
        raise ResponseLogError(f"{path}, line {number}: correctness must be 0 or 1")
    return values


def _dkt3_rows(path: Path) -> Iterator[tuple[int, int, int]]:
    with path.open(encoding="utf-8") as file:
        lines = [line for line in file]
    if len(lines) % 3:
        raise ResponseLogError(f"{path}, line {len(lines)}: the file ends inside a student's three lines")
    for student, start in enumerate(range(0, len(lines), 3)):
        counts = _integers(path, start + 1, lines[start])
        skills = _integers(path, start + 2, lines[start + 1])
        correct = _correctness(path, start + 3, _integers(path, start + 3, lines[start + 2]))
        if len(counts) != 1 or counts[0] != len(skills) or len(skills) != len(correct):
            raise ResponseLogError(
                f"{path}, line {start + 1}: the response count does not match the next two lines"
            )
        yield from ((student, skill, answer) for skill, answer in zip(skills, correct, strict=True))


def _long_rows(path: Path) -> Iterator[tuple[int, int, int]]:
    parsed: list[tuple[str, int, int, int]] = []
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        if [cell.strip() for cell in header] != LONG_COLUMNS:
            raise ResponseLogError(f"{path}, line 1: the header must be {','.join(LONG_COLUMNS)}")
        for number, row in enumerate(reader, start=2):
            if len(row) != len(LONG_COLUMNS):
                raise ResponseLogError(f"{path}, line {number}: expected {len(LONG_COLUMNS)} columns")
            values = _integers(path, number, ",".join(row[1:]))
            if len(values) != len(LONG_COLUMNS) - 1:
                raise ResponseLogError(f"{path}, line {number}: skill_id, correct and order must be integers")
            skill, correct, order = values
            parsed.append((row[0].strip(), order, skill, _correctness(path, number, [correct])[0]))
    students: dict[str, int] = {}
    for student, _order, skill, correct in sorted(parsed, key=lambda row: (row[0], row[1])):
        yield students.setdefault(student, len(students)), skill, correct
