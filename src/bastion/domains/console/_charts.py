"""Charts as inline SVG, drawn on the server: no chart library, no script.

Only presentation attributes and classes (styled by ``console.css``), never a ``style``
attribute, so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 560
HEIGHT = 160
_PAD_LEFT = 56
_PAD_BOTTOM = 22
_PAD_TOP = 10


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def bar_chart(
    title: str,
    points: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    label_every: int = 1,
) -> Markup:
    """Vertical bars, one per ``(label, value)``, with a labelled y axis; each bar carries
    its exact value as a ``<title>`` (shown on hover, read by screen readers)."""
    plot_w = WIDTH - _PAD_LEFT - 8
    plot_h = HEIGHT - _PAD_BOTTOM - _PAD_TOP
    top = _nice_max(max((v for _, v in points), default=0.0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _PAD_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{_PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{_PAD_LEFT - 4}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(fmt(top * fraction))}</text>'
        )
    if not points:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
            'text-anchor="middle">no data in this window</text>'
        )
    slot = plot_w / max(len(points), 1)
    bar = max(slot * 0.7, 1.0)
    for i, (label, value) in enumerate(points):
        h = plot_h * (value / top) if top else 0.0
        x = _PAD_LEFT + i * slot + (slot - bar) / 2
        y = _PAD_TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    # Every text in it went through escape(); the rest is numbers and fixed markup.
    return Markup("".join(parts))  # noqa: S704


def dollars(microdollars: float) -> str:
    """Cost as the console shows it: dollars with four decimals (exact to 100 µ$)."""
    return f"${microdollars / 1_000_000:,.4f}"


def milliseconds(value: float) -> str:
    return f"{value:,.0f} ms"
