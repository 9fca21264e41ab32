"""Server-side SVG charts for the console dashboard.

The console renders every page on the server and ships no charting JavaScript: a chart is a small, static SVG
that works with scripting disabled, prints, and is swapped in by htmx like any other fragment. Colours come from
the console stylesheet through the ``chart*`` classes; ``currentColor`` on the root is only the fallback.
Every attribute value and text node is escaped inside :func:`_el`, so labels read from the database (purpose,
segment or tag names) cannot inject markup and no caller has to remember to escape.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from markupsafe import Markup

from scrm_web import i18n

__all__ = ["bar_chart", "compact", "hbar_chart", "line_chart", "nice_max", "pair_chart"]

SVG_NS = "http://www.w3.org/2000/svg"
# Room around the plot area: y labels on the left, x labels below.
_LEFT, _RIGHT, _TOP, _BOTTOM = 44.0, 8.0, 10.0, 22.0
# More x labels than this overlap at the default width, so longer series label an evenly spaced sample.
_MAX_X_LABELS = 6
_NICE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def compact(value: float) -> str:
    """Format a number in a few characters (``950``, ``1.2k``, ``3.4M``) so axis and value labels never collide."""
    if not math.isfinite(value):
        return "–"
    sign, value = ("-" if value < 0 else ""), abs(value)
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if round(value / divisor, 1) >= 1:  # on the rounded quotient, so 999_950 is "1M" and not "1000k"
            return f"{sign}{_num(value / divisor)}{suffix}"
    return sign + (f"{value:.0f}" if value >= 100 else _num(value))


def nice_max(value: float) -> float:
    """Round a data maximum up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ⁿ: a y-axis top label read at a glance."""
    if not math.isfinite(value) or value <= 0:
        return 1.0  # empty or all-zero data still needs a non-degenerate scale
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next((s * magnitude for s in _NICE_STEPS if value <= s * magnitude * (1 + 1e-9)), 10 * magnitude)


def bar_chart(points: Sequence[tuple[str, float]], *, width: int = 640, height: int = 200, title: str) -> Markup:
    """Vertical bars, one per point (events per day, members per segment); a zero bar keeps its slot and tooltip."""
    plot = _Plot.of(points, width, height)
    w = min(plot.slot * 0.8, 64.0)  # a few bars stay bars, not slabs
    bars = [
        _el("rect", _tip(label, v), class_="chart-bar", x=x - w / 2, y=y, width=w, height=plot.bottom - y)
        for x, y, label, v in plot.placed()
    ]
    return _svg("bar", title, width, height, [*plot.axes(), *(bars or [plot.no_data()])])


def line_chart(
    points: Sequence[tuple[str, float]], *, width: int = 640, height: int = 200, title: str, cumulative: bool = False
) -> Markup:
    """A polyline with a marker per point; ``cumulative`` turns daily counts (new members) into a running total."""
    plot = _Plot.of(points, width, height, cumulative=cumulative)
    placed = plot.placed()
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y, _, _ in placed)
    line = _el("polyline", class_="chart-line", points=path, fill="none", stroke="currentColor")
    r = min(3.0, plot.slot / 3)  # dense series (a year of days) would otherwise merge into a thick band
    dots = [_el("circle", _tip(label, v), class_="chart-point", cx=x, cy=y, r=r) for x, y, label, v in placed]
    return _svg("line", title, width, height, [*plot.axes(), *([line, *dots] if placed else [plot.no_data()])])


def pair_chart(
    points: Sequence[tuple[str, float, float]],
    *,
    names: tuple[str, str],
    width: int = 640,
    height: int = 220,
    title: str,
) -> Markup:
    """Two bars side by side per point, against one scale (points issued and redeemed per day), with
    a legend naming the two series; the second series is drawn in the ``chart-bar-b`` colour."""
    plot = _Plot(float(width), float(height), [p[0] for p in points], [max(_clean(a), _clean(b)) for _, a, b in points])
    scale = (plot.bottom - _TOP) / plot.y_max
    w = min(plot.slot * 0.4, 28.0)
    bars: list[Markup] = []
    for i, (label, a, b) in enumerate(points):
        for offset, value, cls, name in (
            (-w / 2, a, "chart-bar", names[0]),
            (w / 2, b, "chart-bar chart-bar-b", names[1]),
        ):
            y = plot.bottom - _clean(value) * scale
            bars.append(
                _el("rect", _tip(f"{label} · {name}", value), class_=cls, x=plot.x(i) + offset - w / 2, y=y,
                    width=w, height=plot.bottom - y)
            )  # fmt: skip
    legend = []
    for n, (name, cls) in enumerate(((names[0], "chart-bar"), (names[1], "chart-bar chart-bar-b"))):
        x = width - _RIGHT - 150 + n * 75
        legend += [
            _el("rect", class_=cls, x=x, y=_TOP - 6, width=10, height=10),
            _text(_clip(name, 10), x + 14, _TOP - 1, "start", "chart-label"),
        ]
    has_data = any(_clean(a) or _clean(b) for _, a, b in points)
    return _svg("pair", title, width, height, [*plot.axes(), *(bars if has_data else [plot.no_data()]), *legend])


def hbar_chart(
    rows: Sequence[tuple[str, float]],
    max_value: float = 100.0,
    *,
    width: int = 640,
    row_height: int = 28,
    title: str,
    unit: str = "%",
) -> Markup:
    """Labelled horizontal bars against a fixed maximum (consent coverage by purpose: share of members, in %).

    Each bar lies on a faint ``chart-track`` spanning the full range, so 40 % reads as "less than half" with no
    axis. Bars are clamped to ``[0, max_value]`` but the printed value is the real one, so bad data stays visible.
    """
    height = _TOP * 2 + max(len(rows), 1) * row_height
    label_x, track_w, thick = width * 0.3, width * 0.7 - 64, row_height * 0.6
    track_x, scale = label_x + 8, (max_value if max_value > 0 else 1.0)
    body: list[Markup] = []
    for i, (label, raw) in enumerate(rows):
        mid = _TOP + (i + 0.5) * row_height
        top, bar_w = mid - thick / 2, min(_clean(raw), scale) / scale * track_w
        body += [
            _text(_clip(label, 32), label_x, mid, "end", "chart-label"),
            _el("rect", class_="chart-track", x=track_x, y=top, width=track_w, height=thick, fill_opacity=0.15),
            _el("rect", _tip(label, raw, unit), class_="chart-bar", x=track_x, y=top, width=bar_w, height=thick),
            _text(compact(raw) + unit, track_x + track_w + 6, mid, "start", "chart-label chart-value"),
        ]
    if not rows:
        body.append(_text(i18n.gettext("no data"), width / 2, height / 2, "middle", "chart-label chart-empty"))
    return _svg("hbar", title, width, height, body)


@dataclass(frozen=True)
class _Plot:
    """Geometry shared by the bar and line charts (plot area, y scale, x slots), so both draw identical axes."""

    width: float
    height: float
    labels: list[str]
    values: list[float]

    @classmethod
    def of(cls, points: Sequence[tuple[str, float]], width: float, height: float, *, cumulative: bool = False) -> _Plot:
        values = [_clean(v) for _, v in points]
        return cls(width, height, [label for label, _ in points], list(accumulate(values)) if cumulative else values)

    @property
    def bottom(self) -> float:
        return self.height - _BOTTOM

    @property
    def y_max(self) -> float:
        return nice_max(max(self.values, default=0.0))

    @property
    def slot(self) -> float:
        return (self.width - _LEFT - _RIGHT) / max(len(self.values), 1)

    def x(self, i: int) -> float:
        return _LEFT + (i + 0.5) * self.slot

    def placed(self) -> list[tuple[float, float, str, float]]:
        """``(x, y, label, value)`` per point; y is the top of the bar or the centre of the marker."""
        scale = (self.bottom - _TOP) / self.y_max
        return [
            (self.x(i), self.bottom - v * scale, label, v)
            for i, (label, v) in enumerate(zip(self.labels, self.values, strict=True))
        ]

    def axes(self) -> list[Markup]:
        """Baseline, dashed top grid line, ``0`` and rounded-max y labels, and at most ``_MAX_X_LABELS`` x labels."""
        right, n = self.width - _RIGHT, len(self.labels)
        out = [
            _el("line", class_="chart-axis", x1=_LEFT, y1=self.bottom, x2=right, y2=self.bottom, stroke="currentColor"),
            _el("line", class_="chart-axis chart-grid", x1=_LEFT, y1=_TOP, x2=right, y2=_TOP, stroke="currentColor",
                stroke_dasharray="2 3"),
            _text("0", _LEFT - 6, self.bottom, "end", "chart-label"),
            _text(compact(self.y_max), _LEFT - 6, _TOP, "end", "chart-label"),
        ]  # fmt: skip
        for i in range(0, n, math.ceil(n / _MAX_X_LABELS) or 1):  # a regular step: every 3rd day, every week...
            # A sampled series has narrow slots: pin its end labels inside the frame instead of centring them.
            anchor = "middle" if n <= _MAX_X_LABELS or 0 < i < n - 1 else "start" if i == 0 else "end"
            x = self.x(i) + {"start": -0.5, "middle": 0.0, "end": 0.5}[anchor] * self.slot
            out.append(_text(_clip(self.labels[i], 14), x, self.height - 6, anchor, "chart-label chart-x"))
        return out

    def no_data(self) -> Markup:
        return _text(
            i18n.gettext("no data"), self.width / 2, (self.bottom + _TOP) / 2, "middle", "chart-label chart-empty"
        )


def _svg(kind: str, title: str, width: float, height: float, body: Sequence[Markup]) -> Markup:
    """The accessible root, ``role="img"`` named by its ``<title>``; the id hashes the content so charts differ."""
    ident = "chart-" + hashlib.blake2s(f"{kind}\0{title}\0{''.join(body)}".encode(), digest_size=5).hexdigest()
    return _el(
        "svg", _el("title", title, id=ident), *body, xmlns=SVG_NS, class_="chart", data_chart=kind, role="img",
        aria_labelledby=ident, viewBox=f"0 0 {_num(width)} {_num(height)}", width=width, height=height,
        font_size=11, fill="currentColor",
    )  # fmt: skip


def _el(tag: str, *children: str, **attrs: object) -> Markup:
    """One element; ``class_`` / ``font_size`` name ``class`` / ``font-size``. Plain-string values are escaped."""
    rendered = Markup("").join(
        Markup(' {}="{}"').format(k.rstrip("_").replace("_", "-"), _num(v) if isinstance(v, float | int) else str(v))
        for k, v in attrs.items()
    )
    if not children:
        return Markup("<{}{}/>").format(tag, rendered)
    return Markup("<{0}{1}>{2}</{0}>").format(tag, rendered, Markup("").join(children))


def _text(content: str, x: float, y: float, anchor: str, cls: str) -> Markup:
    return _el("text", content, class_=cls, x=x, y=y, text_anchor=anchor, dominant_baseline="middle")


def _tip(label: str, value: float, unit: str = "") -> Markup:
    """Hover tooltip with the exact value, since the axes carry only compact, rounded numbers."""
    exact = f"{value:,.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "–"
    return _el("title", f"{label}: {exact}{unit}")


def _clean(value: float) -> float:
    """These charts show counts and shares: negative or non-finite values would break the scale, so they plot as 0."""
    return float(value) if math.isfinite(value) and value > 0 else 0.0


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _num(value: float) -> str:
    """At most one decimal, none when whole: keeps coordinates and labels short."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
