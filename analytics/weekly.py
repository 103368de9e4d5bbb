"""Weekly course metrics, computed set-based with numpy from arrays of events.

Definitions (course week i: the i-th seven days from the course's start, analytics.CourseCalendar):
- active students N_i: the course's learners with at least one event in week i;
- planned items of week i: the assignments due and the materials scheduled in week i
  (analytics.PlannedItem); an assignment is completed by a submitted or graded event on it, a
  material by a viewed event on it, at any time before week i ends (early work counts, late work
  does not count for its week);
- learning progress L_ij = completed planned items of week i / planned items of week i, and
  L_i = (1/N_i) sum_j L_ij over the active students (no value when week i plans nothing);
- feedback M_ij = the mean of student j's mean answer rating and mean normalised grade in week i
  (whichever of the two exist), and M_i = the mean of M_ij over the active students who have one
  (``feedback_students``); the mean rating and the mean grade are also kept separately;
- participation = N_i / enrolled learners; tutor usage = questions asked in week i and the
  number of students who asked.

A week is flagged when, once it has ended, its progress, feedback or participation falls more than
a margin below the course's own recent level (the mean of up to three earlier weeks with a value).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SECONDS_PER_WEEK = 7 * 24 * 3600

# Event kinds, as small integers for the arrays.
KIND_OTHER, KIND_ASKED, KIND_RATED, KIND_GRADED = 0, 1, 2, 3
KIND_OF_VERB = {"asked": KIND_ASKED, "rated": KIND_RATED, "graded": KIND_GRADED}

# Flag a week when a metric is this far below the course's recent level.
TREND_WINDOW = 3
PROGRESS_MARGIN = 0.15
FEEDBACK_MARGIN = 0.15
PARTICIPATION_MARGIN = 0.2


def week_of(seconds_since_start: FloatArray) -> IntArray:
    """Course week (from 1) of each moment, given in seconds since the course start."""
    return np.floor(seconds_since_start / SECONDS_PER_WEEK).astype(np.int64) + 1


@dataclass(frozen=True)
class WeekInputs:
    """Everything the metrics of some weeks need, as arrays.

    ``learners``: the enrolled learners' user ids. Events (one entry each, any user): ``user``,
    ``week``, ``kind`` (KIND_*), ``score`` (NaN when unscored). Completions (one entry per
    completing event of a planned item): ``completion_user``, ``completion_item`` (index into
    ``item_week``), ``completion_week``. ``item_week``: the planned week of each planned item.
    """

    learners: IntArray
    user: IntArray
    week: IntArray
    kind: IntArray
    score: FloatArray
    completion_user: IntArray
    completion_item: IntArray
    completion_week: IntArray
    item_week: IntArray


@dataclass(frozen=True)
class WeekRow:
    week: int
    enrolled_students: int
    active_students: int
    planned_items: int
    learning_progress: float | None
    feedback: float | None
    feedback_students: int
    answer_rating: float | None
    grade: float | None
    participation: float | None
    tutor_questions: int
    tutor_users: int
    events: int


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _per_cell_mean(cells: IntArray, values: FloatArray, size: int) -> tuple[FloatArray, FloatArray]:
    """Mean of values per cell (NaN where a cell has none) and the count per cell."""
    counts = np.bincount(cells, minlength=size).astype(np.float64)
    sums = np.bincount(cells, weights=values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def _mean_over(values: FloatArray, mask: npt.NDArray[np.bool_]) -> tuple[FloatArray, IntArray]:
    """Mean of the non-NaN values where mask holds, per row; (NaN, 0) rows without any."""
    chosen = np.where(mask, values, np.nan)
    present = ~np.isnan(chosen)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(chosen, axis=1) / count
    return np.asarray(mean, dtype=np.float64), np.asarray(count, dtype=np.int64)


def week_metrics(inputs: WeekInputs, weeks: Sequence[int]) -> list[WeekRow]:
    """The metrics of the given weeks (each from 1), vectorised over weeks and students."""
    weeks_array = np.asarray(sorted(set(weeks)), dtype=np.int64)
    if weeks_array.size == 0:
        return []
    learners = np.unique(inputs.learners)
    if learners.size == 0:
        learners = np.array([-1], dtype=np.int64)  # no learner: one column nobody matches
        enrolled = 0
    else:
        enrolled = int(learners.size)
    student_count, week_count = learners.size, weeks_array.size
    size = week_count * student_count
    shape = (week_count, student_count)

    def cells(users: IntArray, event_weeks: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """Flat (week row, student column) cell of each entry, and which entries have one."""
        column = np.minimum(np.searchsorted(learners, users), student_count - 1)
        row = np.minimum(np.searchsorted(weeks_array, event_weeks), week_count - 1)
        known = (learners[column] == users) & (weeks_array[row] == event_weeks)
        return row * student_count + column, known

    event_cell, event_known = cells(inputs.user, inputs.week)
    event_cell, kind, score = event_cell[event_known], inputs.kind[event_known], inputs.score[event_known]
    event_counts = np.bincount(event_cell, minlength=size).reshape(shape)
    active = event_counts > 0
    active_count = active.sum(axis=1)

    # Progress: each (student, item) completed at the earliest completing event's week.
    item_week = inputs.item_week
    planned = np.array([(item_week == week).sum() for week in weeks_array], dtype=np.int64)
    if inputs.completion_item.size:
        pair = inputs.completion_user * np.int64(item_week.size) + inputs.completion_item
        order = np.lexsort((inputs.completion_week, pair))
        first = np.ones(order.size, dtype=bool)
        first[1:] = pair[order][1:] != pair[order][:-1]
        chosen = order[first]
        user, item = inputs.completion_user[chosen], inputs.completion_item[chosen]
        on_time = inputs.completion_week[chosen] <= item_week[item]
        done_cell, done_known = cells(user[on_time], item_week[item][on_time])
        done = np.bincount(done_cell[done_known], minlength=size).reshape(shape)
    else:
        done = np.zeros(shape, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = done / planned[:, None]
        progress = np.where(
            (planned > 0) & (active_count > 0), (share * active).sum(axis=1) / active_count, np.nan
        )

    # Feedback: per student mean rating and mean grade, then their mean, then over students.
    scored = ~np.isnan(score)
    rating, _ = _per_cell_mean(
        event_cell[scored & (kind == KIND_RATED)], score[scored & (kind == KIND_RATED)], size
    )
    grade, _ = _per_cell_mean(
        event_cell[scored & (kind == KIND_GRADED)], score[scored & (kind == KIND_GRADED)], size
    )
    rating, grade = rating.reshape(shape), grade.reshape(shape)
    both = np.stack([rating, grade])
    present = (~np.isnan(both)).sum(axis=0)
    student_feedback = np.where(present > 0, np.nansum(both, axis=0) / np.maximum(present, 1), np.nan)
    feedback, feedback_students = _mean_over(student_feedback, active)
    rating_mean, _ = _mean_over(rating, active)
    grade_mean, _ = _mean_over(grade, active)

    asked = np.bincount(event_cell[kind == KIND_ASKED], minlength=size).reshape(shape)
    rows = []
    for index, week in enumerate(weeks_array.tolist()):
        rows.append(
            WeekRow(
                week=week,
                enrolled_students=enrolled,
                active_students=int(active_count[index]),
                planned_items=int(planned[index]),
                learning_progress=_optional(progress[index]),
                feedback=_optional(feedback[index]),
                feedback_students=int(feedback_students[index]),
                answer_rating=_optional(rating_mean[index]),
                grade=_optional(grade_mean[index]),
                participation=float(active_count[index] / enrolled) if enrolled else None,
                tutor_questions=int(asked[index].sum()),
                tutor_users=int((asked[index] > 0).sum()),
                events=int(event_counts[index].sum()),
            )
        )
    return rows


@dataclass(frozen=True)
class WeekTrend:
    """A week's values for flagging: progress, feedback and participation (None: no value)."""

    week: int
    complete: bool
    learning_progress: float | None
    feedback: float | None
    participation: float | None


@dataclass(frozen=True)
class WeekFlag:
    week: int
    reasons: list[tuple[str, float, float, list[int]]] = field(default_factory=list)
    # (metric name, the week's value, the course's recent level, the weeks that level is from)


def week_flags(trends: Sequence[WeekTrend]) -> list[WeekFlag]:
    """For each ended week: the metrics more than their margin below the course's recent level."""
    ordered = sorted(trends, key=lambda trend: trend.week)
    margins = {
        "learning_progress": PROGRESS_MARGIN,
        "feedback": FEEDBACK_MARGIN,
        "participation": PARTICIPATION_MARGIN,
    }
    flags = []
    for index, trend in enumerate(ordered):
        reasons = []
        for metric, margin in margins.items():
            value = getattr(trend, metric)
            earlier = [
                (t.week, getattr(t, metric)) for t in ordered[:index] if getattr(t, metric) is not None
            ]
            window = earlier[-TREND_WINDOW:]
            if not trend.complete or value is None or not window:
                continue
            level = float(np.mean([v for _, v in window]))
            if value < level - margin:
                reasons.append((metric, float(value), level, [w for w, _ in window]))
        flags.append(WeekFlag(week=trend.week, reasons=reasons))
    return flags
