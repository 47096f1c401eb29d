"""Charts as inline SVG (no script, no external file): bars, a line and a Pareto for the KPIs.

Each picture is an <svg role="img"> named by its <title> and described by its <desc>, a sentence
that says what it shows in words; the page puts the numbers in a table next to it as well. The
same markup goes into the PDF (WeasyPrint draws SVG)."""

from __future__ import annotations

import hashlib

from markupsafe import Markup, escape

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 56
COLOURS = ("#0b5394", "#b45309", "#15803d", "#7c3aed")  # contrast >= 4.5:1 on white


def _frame(title: str, desc: str, body: list[str], width: int = W, height: int = H) -> Markup:
    # ids from the content: the same picture renders the same (cached fragments, live comparisons)
    n = hashlib.sha1(f"{title}\n{desc}\n{len(body)}".encode()).hexdigest()[:10]
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="kchart{n}-t kchart{n}-d" preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="11">'
        f'<title id="kchart{n}-t">{escape(title)}</title><desc id="kchart{n}-d">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


def _axis(top: float, fmt) -> list[str]:
    out = [f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#444"/>']
    for i in range(5):
        v = top * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#333">{escape(fmt(v))}</text>')
    return out


def _label(x: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" fill="#333">{escape(text)}</text>'


def _legend(names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        x = LEFT + i * 150
        out.append(f'<rect x="{x}" y="{H - 22}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
                   f'<text x="{x + 14}" y="{H - 13}" fill="#333">{escape(name)}</text>')
    return out


def bar_chart(title: str, desc: str, labels: list[str], series: list[tuple[str, list[float]]]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = max([v or 0 for _, values in series for v in values] + [1])
    body = _axis(top, lambda v: f"{v:g}" if v == int(v) else f"{v:.1f}")
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.1
        for j, (_, values) in enumerate(series):
            v = values[i] or 0
            h = (H - TOP - BOTTOM) * v / top
            body.append(f'<rect x="{x0 + j * bar:.1f}" y="{H - BOTTOM - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                        f'fill="{COLOURS[j % len(COLOURS)]}"/>')
        body.append(_label(LEFT + i * slot + slot / 2, label))
    return _frame(title, desc, body + _legend([name for name, _ in series]))


def line_chart(title: str, desc: str, labels: list[str], values: list[float | None], top: float = 1.0, percent: bool = True) -> Markup:
    """A line through the known values (gaps where a month has nothing to count)."""
    body = _axis(top, (lambda v: f"{v * 100:.0f}%") if percent else (lambda v: f"{v:g}"))
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    points = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot + slot / 2
        body.append(_label(x, label))
        if v is None:
            if len(points) > 1:
                body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>')
            points = []
            continue
        y = H - BOTTOM - (H - TOP - BOTTOM) * min(v, top) / top
        points.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[0]}"/>')
    if len(points) > 1:
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>')
    return _frame(title, desc, body)


def pareto_items(items: list[tuple[str, float]]) -> list[tuple[str, float, float]]:
    """(label, value, cumulative share) largest first; zero values left out."""
    items = sorted(((label, v) for label, v in items if v), key=lambda x: (-x[1], x[0]))
    total = sum(v for _, v in items) or 1
    out, running = [], 0.0
    for label, v in items:
        running += v
        out.append((label, v, running / total))
    return out


def pareto_chart(title: str, desc: str, items: list[tuple[str, float]], legend: tuple[str, str] = ("", "")) -> Markup:
    """Bars largest first and the cumulative share as a line (right-hand scale 0-100 %)."""
    rows = pareto_items(items)
    top = max([v for _, v, _ in rows] + [1])
    body = _axis(top, lambda v: f"{v:g}" if v == int(v) else f"{v:.1f}")
    slot = (W - LEFT - RIGHT) / max(len(rows), 1)
    points = []
    for i, (label, v, share) in enumerate(rows):
        x = LEFT + i * slot
        h = (H - TOP - BOTTOM) * v / top
        body.append(f'<rect x="{x + slot * 0.1:.1f}" y="{H - BOTTOM - h:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{COLOURS[0]}"/>')
        body.append(_label(x + slot / 2, label[:18]))
        points.append(f"{x + slot / 2:.1f},{H - BOTTOM - (H - TOP - BOTTOM) * share:.1f}")
    if points:
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS[1]}" stroke-width="2"/>')
        body.append(f'<text x="{W - RIGHT}" y="{TOP - 4}" text-anchor="end" fill="{COLOURS[1]}">100%</text>')
    return _frame(title, desc, body + _legend([str(name) for name in legend if name]))
