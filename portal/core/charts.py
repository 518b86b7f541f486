"""Server-rendered inline SVG charts for the admin reports: no JavaScript, no CDN, testable as markup.
Every bar carries a <title>, which browsers show on hover."""

from __future__ import annotations

from collections.abc import Sequence
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
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart hbar" viewBox="0 0 {} {}" width="{}" height="{}" '
            'role="img" aria-label="{}">',
            width,
            height,
            width,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
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
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart columns" viewBox="0 0 {} {}" width="{}" '
            'height="{}" role="img" aria-label="{}">',
            width,
            height,
            width,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
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
    out = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart stacked" viewBox="0 0 {} {}" width="{}" '
            'height="{}" role="img" aria-label="{}">',
            width,
            height,
            width,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
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


__all__ = ["column_chart", "escape", "hbar_chart", "money", "stacked_hbar_chart"]
