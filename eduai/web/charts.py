"""Server-rendered SVG charts: the geometry is computed here, the template only draws it."""

from dataclasses import dataclass

# The SVG's own coordinate system; it scales to its container through its viewBox.
WIDTH = 640
HEIGHT = 280
LABEL_SPACE = 40
TOP_SPACE = 24


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    value_y: float


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    bars: list[Bar]
    maximum: float
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - LABEL_SPACE
    label_y: float = HEIGHT - 14


def bar_chart_build(
    *, title: str, description: str, series: list[tuple[str, float]], maximum: float | None = None
) -> BarChart:
    """Bars for (label, value) pairs, scaled to `maximum` (default: the largest value)."""
    if any(value < 0 for _label, value in series):
        raise ValueError("bar charts show non-negative values only")
    top = maximum if maximum is not None else max((value for _label, value in series), default=0)
    top = top or 1.0
    plot_height = HEIGHT - LABEL_SPACE - TOP_SPACE
    slot = WIDTH / max(len(series), 1)
    bars = []
    for index, (label, value) in enumerate(series):
        height = plot_height * min(value, top) / top
        bars.append(
            Bar(
                label=label,
                value=value,
                display=f"{value:g}",
                x=index * slot + slot * 0.15,
                y=HEIGHT - LABEL_SPACE - height,
                width=slot * 0.7,
                height=height,
                label_x=index * slot + slot / 2,
                # Above the bar, but never above the drawing.
                value_y=max(HEIGHT - LABEL_SPACE - height - 6, 14),
            )
        )
    return BarChart(title=title, description=description, bars=bars, maximum=top)
