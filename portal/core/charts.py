"""Server-side SVG charts shared by the apps' admin pages and the portal (no JavaScript, no CDN).

Titles and labels arrive translated from the caller; everything is escaped through format_html, and
each point carries a <title> that browsers show on hover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#417690", "#c9a227", "#9b5d8f", "#5a9e6f", "#c0504d", "#79aec8", "#7f7f7f")


def _f(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    return value


def _join(parts: list[SafeString | str]) -> SafeString:
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part was escaped by format_html


def line_chart(
    series: Mapping[str, Sequence[tuple[dt.date, int]]],
    *,
    start: dt.date,
    end: dt.date,
    title: str,
    limit: int | None = None,
    limit_label: str = "",
    width: int = 720,
    height: int = 240,
) -> SafeString:
    """One polyline per named series of (day, value), a legend when there are several, and an optional
    dashed limit line."""
    peak = max((v for points in series.values() for _d, v in points), default=0)
    if not any(series.values()):
        return format_html('<p class="chart-empty">{}</p>', "—")
    top_value = _nice_max(max(peak, limit or 0))
    left, right, top, bottom = 52, 12, 12, 28 + (16 if len(series) > 1 else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(1, (end - start).days)

    def x_of(day: dt.date) -> float:
        return left + plot_w * (day - start).days / span

    def y_of(value: float) -> float:
        return top + plot_h * (1 - value / top_value)

    parts: list[SafeString | str] = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart lines" viewBox="0 0 {} {}" role="img" '
            'aria-label="{}">',
            width,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
    for fraction in (0, 0.5, 1):
        y = y_of(top_value * fraction)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e3e7ee"></line>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="#777">{}</text>',
                left,
                width - right,
                _f(y),
                _f(y),
                left - 6,
                _f(y + 3),
                int(top_value * fraction),
            )
        )
    for day in (start, start + (end - start) / 2, end):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#777">{}</text>',
                _f(x_of(day)),
                top + plot_h + 16,
                day.isoformat(),
            )
        )
    if limit is not None:
        y = y_of(limit)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#c0504d" stroke-dasharray="4 3"></line>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="#c0504d">{}</text>',
                left,
                width - right,
                _f(y),
                _f(y),
                width - right - 2,
                _f(y - 4),
                limit_label or limit,
            )
        )
    for index, (name, points) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{_f(x_of(d))},{_f(y_of(v))}" for d, v in points)
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>', coords, color
            )
        )
        for d, v in points:
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="2" fill="{}"><title>{} {}: {}</title></circle>',
                    _f(x_of(d)),
                    _f(y_of(v)),
                    color,
                    name,
                    d.isoformat(),
                    v,
                )
            )
        if len(series) > 1:
            x = left + index * 110
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="10" height="10" fill="{}"></rect>'
                    '<text x="{}" y="{}" font-size="11" fill="#333">{}</text>',
                    x,
                    height - 12,
                    color,
                    x + 14,
                    height - 3,
                    name,
                )
            )
    parts.append(mark_safe("</svg>"))
    return _join(parts)


def availability_strip(
    days: Sequence[tuple[dt.date, bool]], *, title: str, seen_label: str, missed_label: str, height: int = 14
) -> SafeString:
    """One thin cell per day: green with a check-in that day, grey without (a 90-day uptime strip)."""
    cell = 4
    parts: list[SafeString | str] = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart strip" viewBox="0 0 {} {}" width="{}" '
            'height="{}" role="img" aria-label="{}">',
            len(days) * cell,
            height,
            len(days) * cell,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
    for index, (day, seen) in enumerate(days):
        parts.append(
            format_html(
                '<rect x="{}" y="0" width="{}" height="{}" fill="{}"><title>{} {}</title></rect>',
                index * cell,
                cell - 1,
                height,
                "#5a9e6f" if seen else "#d5d9e0",
                day.isoformat(),
                seen_label if seen else missed_label,
            )
        )
    parts.append(mark_safe("</svg>"))
    return _join(parts)
