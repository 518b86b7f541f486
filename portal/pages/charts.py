"""A line chart of reported device counts, drawn server-side as inline SVG (no script, no CDN)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    bottom: int
    top: int
    right: int
    points: str = ""
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    limit_y: float | None = None
    limit: int | None = None
    peak: int = 0
    empty: bool = True


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        candidate = int(step * magnitude)
        if candidate >= value:
            return candidate
    return value


def device_chart(
    peaks: list[tuple[dt.date, int]],
    *,
    start: dt.date,
    end: dt.date,
    limit: int | None = None,
    width: int = 720,
    height: int = 220,
) -> LineChart:
    """`peaks` are (day, highest count that day), as portal.pages.selectors.daily_device_peaks returns."""
    chart = LineChart(width=width, height=height, left=48, right=12, top=12, bottom=28, limit=limit)
    plot_w = width - chart.left - chart.right
    plot_h = height - chart.top - chart.bottom
    days = max(1, (end - start).days)
    chart.peak = max((p for _d, p in peaks), default=0)
    top_value = _nice_max(max(chart.peak, limit or 0))

    def x_of(day: dt.date) -> float:
        return round(chart.left + plot_w * (day - start).days / days, 1)

    def y_of(value: int) -> float:
        return round(chart.top + plot_h * (1 - value / top_value), 1)

    chart.empty = not peaks
    chart.points = " ".join(f"{x_of(d)},{y_of(p)}" for d, p in peaks)
    chart.dots = [(x_of(d), y_of(p), f"{d.isoformat()}: {p}") for d, p in peaks]
    chart.y_ticks = [(y_of(top_value * i // 4), f"{top_value * i // 4:,}") for i in range(5)]
    step = max(1, days // 6)
    chart.x_ticks = [
        (x_of(start + dt.timedelta(days=i)), (start + dt.timedelta(days=i)).strftime("%m-%d"))
        for i in range(0, days + 1, step)
    ]
    if limit:
        chart.limit_y = y_of(limit)
    return chart
