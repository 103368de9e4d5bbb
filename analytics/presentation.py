"""How analytics are shown: reasons in words (translated), the mastery heat map's geometry, and
the rows of the CSV exports. The stored reasons are data; they are worded only when shown."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .selectors import MasteryGrid


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def week_reason_text(reason: dict[str, Any]) -> str:
    weeks = reason.get("weeks") or []
    if len(weeks) > 1:
        span = _("weeks %(first)s-%(last)s") % {"first": weeks[0], "last": weeks[-1]}
    else:
        span = _("week %(number)s") % {"number": weeks[0] if weeks else ""}
    metric = {
        "learning_progress": _("Progress (L)"),
        "feedback": _("Feedback (M)"),
        "participation": _("Participation"),
    }.get(str(reason.get("metric")), str(reason.get("metric")))
    return _("%(metric)s %(value)s is below the course's recent level of %(level)s (%(weeks)s).") % {
        "metric": metric,
        "value": percent(reason.get("value")),
        "level": percent(reason.get("level")),
        "weeks": span,
    }


def point_reason_text(reason: dict[str, Any]) -> str:
    return _("Mean score %(value)s on %(responses)s answers, against %(level)s across the course.") % {
        "value": percent(reason.get("value")),
        "responses": reason.get("responses", 0),
        "level": percent(reason.get("level")),
    }


def risk_reason_text(reason: dict[str, Any], features: dict[str, Any] | None = None) -> str:
    value = reason.get("value")
    feature = reason.get("feature")
    if value is None:
        return {
            "grade_mean": _("No graded work yet"),
            "grade_last": _("No graded work yet"),
            "practice_mean": _("No practice yet"),
            "material_read_share": _("No planned material yet"),
            "assignments_missed_share": _("No assignment due yet"),
        }.get(str(feature), str(feature))
    texts = {
        "days_inactive": _("No activity for %(value).0f days"),
        "active_days_14": _("Active on %(value).0f of the last 14 days"),
        "actions_14": _("%(value).0f actions in the last 14 days"),
        "assignments_missed_share": _("Missed %(percent)s of the assignments due so far"),
        "grade_mean": _("Mean grade %(percent)s"),
        "grade_last": _("Last grade %(percent)s"),
        "material_read_share": _("Read %(percent)s of the planned material"),
        "practice_mean": _("Practice score %(percent)s"),
        "tutor_questions": _("Asked the tutor %(value).0f questions"),
    }
    template = texts.get(str(feature))
    if template is None:
        return str(feature)
    return template % {"value": float(value), "percent": percent(float(value))}


# Five bins of a colour-blind-safe sequential palette (viridis), dark text on the light end;
# every cell also prints its number, so the colour is never the only carrier.
HEAT_BINS = (
    (0.2, "#440154", "#ffffff"),
    (0.4, "#3b528b", "#ffffff"),
    (0.6, "#21918c", "#ffffff"),
    (0.8, "#5ec962", "#000000"),
    (1.01, "#fde725", "#000000"),
)
CELL_WIDTH, CELL_HEIGHT, NAME_WIDTH, HEADER_HEIGHT = 72, 26, 180, 34


@dataclass(frozen=True)
class HeatCell:
    x: int
    y: int
    fill: str
    text_fill: str
    label: str
    title: str


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    columns: list[tuple[int, str]]  # (x centre, knowledge point name)
    rows: list[tuple[int, str]]  # (y baseline, student name)
    cells: list[HeatCell]
    legend: list[tuple[int, str, str]]  # (x, colour, range)
    points: list[str]
    table: list[tuple[str, list[str]]]  # per student: name, the cells' labels


def heat_map_build(grid: MasteryGrid) -> HeatMap:
    cells = []
    for row_index, ((_user_id, name), values) in enumerate(zip(grid.students, grid.values, strict=True)):
        for column_index, value in enumerate(values):
            point = grid.points[column_index].name
            if value is None:
                fill, text_fill, label = "#ffffff", "#000000", "-"
            else:
                _limit, fill, text_fill = next(item for item in HEAT_BINS if value < item[0])
                label = percent(value)
            cells.append(
                HeatCell(
                    x=NAME_WIDTH + column_index * CELL_WIDTH,
                    y=HEADER_HEIGHT + row_index * CELL_HEIGHT,
                    fill=fill,
                    text_fill=text_fill,
                    label=label,
                    title=f"{name}, {point}: {label}",
                )
            )
    legend = []
    low = 0.0
    for index, (limit, fill, _text_fill) in enumerate(HEAT_BINS):
        legend.append((index * 120, fill, f"{100 * low:.0f}-{min(100, 100 * limit):.0f}%"))
        low = limit
    labels = [cell.label for cell in cells]
    columns = max(len(grid.points), 1)
    return HeatMap(
        width=NAME_WIDTH + CELL_WIDTH * max(len(grid.points), 1),
        height=HEADER_HEIGHT + CELL_HEIGHT * max(len(grid.students), 1),
        columns=[(NAME_WIDTH + i * CELL_WIDTH + CELL_WIDTH // 2, p.name) for i, p in enumerate(grid.points)],
        rows=[
            (HEADER_HEIGHT + i * CELL_HEIGHT + 17, name) for i, (_user_id, name) in enumerate(grid.students)
        ],
        cells=cells,
        legend=legend,
        points=[point.name for point in grid.points],
        table=[
            (name, labels[index * columns : (index + 1) * columns])
            for index, (_user_id, name) in enumerate(grid.students)
        ],
    )
