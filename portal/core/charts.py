"""Server-rendered inline SVG charts for the admin reports and the portal: no JavaScript, no CDN,
testable as markup. Titles and labels arrive translated from the caller; everything is escaped through
format_html, and every bar or point carries a <title>, which browsers show on hover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#417690", "#79aec8", "#c9a227", "#9b5d8f", "#5a9e6f", "#c0504d", "#7f7f7f")


def money(value: Decimal | int | float) -> str:
    return intcomma(f"{Decimal(value):.2f}")


def _short(value: Decimal) -> str:
    """Axis labels: 1.2万 style would be locale-bound; use k / M, understood in both languages."""
    value = Decimal(value)
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}"


def _svg_start(
    kind: str, width: float, height: float, title: str, *, fixed_size: bool = True
) -> list[SafeString | str]:
    """A chart's opening <svg> (labelled for screen readers) and its <title> (the tooltip); a chart
    without a fixed size scales to its container."""
    size = format_html(' width="{}" height="{}"', width, height) if fixed_size else ""
    return [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart {}" viewBox="0 0 {} {}"{} role="img" '
            'aria-label="{}">',
            kind,
            width,
            height,
            size,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]


def hbar_chart(
    items: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    width: int = 560,
    bar_height: int = 20,
    label_width: int = 200,
    formatter: object = money,
) -> SafeString:
    """Horizontal bars, one per (label, value); negative values are drawn from zero to the left."""
    if not items:
        return format_html('<p class="chart-empty">{}</p>', "—")
    values = [Decimal(v) for _label, v in items]
    high = max([*values, Decimal(0)])
    low = min([*values, Decimal(0)])
    span = (high - low) or Decimal(1)
    plot = width - label_width - 110
    zero_x = label_width + float((-low) / span) * plot
    gap = 6
    height = len(items) * (bar_height + gap) + gap
    parts = _svg_start("hbar", width, height, title)
    for index, ((label, _raw), value) in enumerate(zip(items, values, strict=True)):
        y = gap + index * (bar_height + gap)
        length = float(abs(value) / span) * plot
        x = zero_x if value >= 0 else zero_x - length
        text = formatter(value)  # type: ignore[operator]
        parts.append(
            format_html(
                '<g class="bar"><title>{}: {}</title>'
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#333">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"></rect>'
                '<text x="{}" y="{}" font-size="11" fill="#555">{}</text></g>',
                label,
                text,
                label_width - 8,
                y + bar_height - 5,
                _truncate(label, 28),
                _f(x),
                y,
                _f(max(length, 1.0)),
                bar_height,
                PALETTE[0] if value >= 0 else PALETTE[5],
                _f(max(x + length, zero_x) + 6),
                y + bar_height - 5,
                text,
            )
        )
    parts.append(
        format_html(
            '<line x1="{}" x2="{}" y1="0" y2="{}" stroke="#999" stroke-width="1"></line>',
            _f(zero_x),
            _f(zero_x),
            height,
        )
    )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part was escaped by format_html


def column_chart(
    points: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
    formatter: object = money,
) -> SafeString:
    """Vertical columns over time (label, value), with a light grid and the values on hover."""
    if not points:
        return format_html('<p class="chart-empty">{}</p>', "—")
    values = [max(Decimal(v), Decimal(0)) for _label, v in points]
    high = max(values) or Decimal(1)
    left, bottom, top = 64, 28, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    step = plot_w / len(points)
    bar_w = max(4.0, step * 0.64)
    parts = _svg_start("columns", width, height, title)
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = top + plot_h - float(fraction) * plot_h
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e3e7ee"></line>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="#777">{}</text>',
                left,
                width - 10,
                _f(y),
                _f(y),
                left - 6,
                _f(y + 3),
                _short(high * fraction),
            )
        )
    for index, ((label, raw), value) in enumerate(zip(points, values, strict=True)):
        h = float(value / high) * plot_h
        x = left + index * step + (step - bar_w) / 2
        parts.append(
            format_html(
                '<g class="bar"><title>{}: {}</title>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"></rect>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#555">{}</text></g>',
                label,
                formatter(Decimal(raw)),  # type: ignore[operator]
                _f(x),
                _f(top + plot_h - h),
                _f(bar_w),
                _f(max(h, 0.5)),
                PALETTE[0],
                _f(x + bar_w / 2),
                height - 10,
                label,
            )
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part was escaped by format_html


def stacked_hbar_chart(
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    *,
    title: str,
    legend: Sequence[str],
    width: int = 560,
    bar_height: int = 20,
    label_width: int = 170,
) -> SafeString:
    """Horizontal stacked bars of counts: per row label, the parts (part label, count) in legend order."""
    if not rows:
        return format_html('<p class="chart-empty">{}</p>', "—")
    high = max(sum(count for _l, count in parts) for _label, parts in rows) or 1
    plot = width - label_width - 60
    gap = 6
    legend_h = 22
    height = legend_h + len(rows) * (bar_height + gap) + gap
    out = _svg_start("stacked", width, height, title)
    x = label_width
    for index, name in enumerate(legend):
        out.append(
            format_html(
                '<rect x="{}" y="4" width="12" height="12" fill="{}"></rect>'
                '<text x="{}" y="14" font-size="11" fill="#333">{}</text>',
                x,
                PALETTE[index % len(PALETTE)],
                x + 16,
                name,
            )
        )
        x += 24 + 7 * len(str(name)) + 10
    for row_index, (label, parts) in enumerate(rows):
        y = legend_h + gap + row_index * (bar_height + gap)
        out.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#333">{}</text>',
                label_width - 8,
                y + bar_height - 5,
                _truncate(label, 24),
            )
        )
        offset = float(label_width)
        for index, (part, count) in enumerate(parts):
            if count <= 0:
                continue
            length = count / high * plot
            out.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} · {}: {}</title></rect>',
                    _f(offset),
                    y,
                    _f(length),
                    bar_height,
                    PALETTE[index % len(PALETTE)],
                    label,
                    part,
                    count,
                )
            )
            offset += length
        out.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" fill="#555">{}</text>',
                _f(offset + 6),
                y + bar_height - 5,
                sum(count for _p, count in parts),
            )
        )
    out.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in out))  # noqa: S308 - every part was escaped by format_html


def _f(number: float) -> str:
    return f"{number:.1f}"


def _truncate(text: str, length: int) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def _trim(number: float) -> str:
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

    parts = _svg_start("lines", width, height, title, fixed_size=False)
    for fraction in (0, 0.5, 1):
        y = y_of(top_value * fraction)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e3e7ee"></line>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="#777">{}</text>',
                left,
                width - right,
                _trim(y),
                _trim(y),
                left - 6,
                _trim(y + 3),
                int(top_value * fraction),
            )
        )
    for day in (start, start + (end - start) / 2, end):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#777">{}</text>',
                _trim(x_of(day)),
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
                _trim(y),
                _trim(y),
                width - right - 2,
                _trim(y - 4),
                limit_label or limit,
            )
        )
    for index, (name, points) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{_trim(x_of(d))},{_trim(y_of(v))}" for d, v in points)
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>', coords, color
            )
        )
        for d, v in points:
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="2" fill="{}"><title>{} {}: {}</title></circle>',
                    _trim(x_of(d)),
                    _trim(y_of(v)),
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
    parts = _svg_start("strip", len(days) * cell, height, title)
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


__all__ = [
    "availability_strip",
    "column_chart",
    "escape",
    "hbar_chart",
    "line_chart",
    "money",
    "stacked_hbar_chart",
]
