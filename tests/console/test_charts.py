"""The dashboard's server-side SVG charts: well-formed, accessible, proportional, escaped, and robust to odd data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from markupsafe import Markup
from scrm_web.charts import bar_chart, compact, hbar_chart, line_chart, nice_max

NS = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert('x')</script> & co"


def parse(svg: Markup) -> ET.Element:
    """Parsing as XML is the proof of well-formedness: any unescaped label would break it."""
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))  # noqa: S314 - our own output, not untrusted input


def of_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if cls in e.get("class", "").split()]


def texts(root: ET.Element, cls: str = "chart-label") -> list[str]:
    return [e.text or "" for e in of_class(root, "text", cls)]


def tooltip(element: ET.Element) -> str:
    title = element.find(f"{NS}title")
    assert title is not None
    return title.text or ""


@pytest.mark.parametrize("svg", [
    bar_chart([("a", 1), ("b", 2)], title="Events per day"),
    line_chart([("a", 1), ("b", 2)], title="Events per day"),
    hbar_chart([("a", 10), ("b", 20)], 100, title="Events per day"),
])  # fmt: skip
def test_every_chart_is_an_accessible_svg_named_by_its_title(svg: Markup) -> None:
    root = parse(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert "chart" in root.get("class", "").split()
    title = root.find(f"{NS}title")
    assert title is not None
    assert title.text == "Events per day"
    assert title.get("id") == root.get("aria-labelledby")
    assert root.get("viewBox")


def test_colours_come_from_the_stylesheet_not_inline_values() -> None:
    svgs = [
        bar_chart([("a", 1)], title="t"),
        line_chart([("a", 1), ("b", 3)], title="t"),
        hbar_chart([("a", 10)], 100, title="t"),
    ]
    for root in map(parse, svgs):
        for element in root.iter():
            assert element.get("style") is None
            for attr in ("fill", "stroke"):
                assert element.get(attr, "none") in {"none", "currentColor"}


def test_bar_heights_are_proportional_to_values() -> None:
    root = parse(bar_chart([("small", 10), ("big", 40), ("none", 0)], title="t"))
    small, big, none = (float(r.get("height", "nan")) for r in of_class(root, "rect", "chart-bar"))
    assert big / small == pytest.approx(4, rel=0.02)
    assert none == 0
    assert [tooltip(r) for r in of_class(root, "rect", "chart-bar")] == ["small: 10", "big: 40", "none: 0"]


def test_bars_stand_on_the_baseline() -> None:
    root = parse(bar_chart([("a", 3), ("b", 7)], title="t", height=300))
    (baseline, *_) = of_class(root, "line", "chart-axis")
    for rect in of_class(root, "rect", "chart-bar"):
        bottom = float(rect.get("y", "nan")) + float(rect.get("height", "nan"))
        assert bottom == pytest.approx(float(baseline.get("y1", "nan")), abs=0.11)


def test_y_axis_tops_out_at_a_nice_rounded_maximum() -> None:
    root = parse(bar_chart([("a", 1234), ("b", 10)], title="t"))
    assert {"0", "1.5k"} <= set(texts(root))
    tallest = max(float(r.get("height", "nan")) for r in of_class(root, "rect", "chart-bar"))
    plot_height = 200 - 10 - 22
    assert tallest == pytest.approx(plot_height * 1234 / 1500, abs=0.2)


@pytest.mark.parametrize("chart", [bar_chart, line_chart])
def test_labels_and_title_are_escaped(chart: Callable[..., Markup]) -> None:
    svg = chart([(EVIL, 5), ("b", 1)], title=EVIL)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)  # escaped text round-trips to the original label: clipped on the axis, whole in the tooltip
    assert EVIL[:13] + "…" in texts(root, "chart-x")
    title = root.find(f"{NS}title")
    assert title is not None
    assert title.text == EVIL
    assert any(t.text == f"{EVIL}: 5" for t in root.iter(f"{NS}title"))


def test_hbar_labels_are_escaped() -> None:
    svg = hbar_chart([(EVIL, 50)], 100, title="Consent")
    assert "<script>" not in svg
    assert EVIL in texts(parse(svg))


@pytest.mark.parametrize("svg", [
    bar_chart([], title="t"),
    line_chart([], title="t"),
    hbar_chart([], 100, title="t"),
])  # fmt: skip
def test_empty_input_renders_an_empty_chart_saying_no_data(svg: Markup) -> None:
    root = parse(svg)
    assert texts(root, "chart-empty") == ["no data"]
    assert not of_class(root, "rect", "chart-bar")
    assert not of_class(root, "circle", "chart-point")


def test_a_single_point() -> None:
    bars = parse(bar_chart([("only", 5)], title="t"))
    (rect,) = of_class(bars, "rect", "chart-bar")
    assert float(rect.get("height", "nan")) > 0
    assert float(rect.get("width", "nan")) <= 64  # a bar, not a slab across the whole chart
    assert {"only", "5"} <= set(texts(bars))
    line = parse(line_chart([("only", 5)], title="t"))
    (point,) = of_class(line, "circle", "chart-point")
    assert tooltip(point) == "only: 5"


@pytest.mark.parametrize("chart", [bar_chart, line_chart])
def test_all_zeros_keep_a_finite_scale(chart: Callable[..., Markup]) -> None:
    root = parse(chart([("a", 0), ("b", 0), ("c", 0)], title="t"))
    for element in root.iter():
        for attr in ("x", "y", "width", "height", "cx", "cy", "r"):
            assert math.isfinite(float(element.get(attr, "0")))
    assert {"0", "1"} <= set(texts(root))
    assert not texts(root, "chart-empty")


def test_negative_and_non_finite_values_plot_as_zero() -> None:
    root = parse(bar_chart([("neg", -5), ("nan", math.nan), ("inf", math.inf), ("ok", 2)], title="t"))
    heights = [float(r.get("height", "nan")) for r in of_class(root, "rect", "chart-bar")]
    assert heights[:3] == [0, 0, 0]
    assert heights[3] > 0


def test_many_points_get_a_sample_of_x_labels() -> None:
    points = [(f"day {i}", float(i)) for i in range(365)]
    for chart in (bar_chart, line_chart):
        root = parse(chart(points, title="t"))
        x_labels = texts(root, "chart-x")
        assert 2 <= len(x_labels) <= 6
        assert x_labels[0] == "day 0"
    assert len(of_class(parse(line_chart(points, title="t")), "circle", "chart-point")) == 365


def test_few_points_label_every_point() -> None:
    root = parse(bar_chart([("mon", 1), ("tue", 2), ("wed", 3)], title="t"))
    assert texts(root, "chart-x") == ["mon", "tue", "wed"]


def test_line_chart_cumulative_is_a_running_total() -> None:
    root = parse(line_chart([("d1", 1), ("d2", 2), ("d3", 3)], title="t", cumulative=True))
    points = of_class(root, "circle", "chart-point")
    assert [tooltip(p) for p in points] == ["d1: 1", "d2: 3", "d3: 6"]
    ys = [float(p.get("cy", "nan")) for p in points]
    assert ys[0] > ys[1] > ys[2]  # growing upwards
    polyline = root.find(f"{NS}polyline")
    assert polyline is not None
    assert len((polyline.get("points") or "").split()) == 3


def test_hbar_widths_are_proportional_and_clamped_to_the_track() -> None:
    root = parse(hbar_chart([("email", 25), ("sms", 50), ("over", 150), ("neg", -3)], 100, title="t"))
    (track, *_) = of_class(root, "rect", "chart-track")
    email, sms, over, neg = (float(r.get("width", "nan")) for r in of_class(root, "rect", "chart-bar"))
    assert sms / email == pytest.approx(2, rel=0.01)
    assert over == pytest.approx(float(track.get("width", "nan")))
    assert neg == 0
    assert texts(root, "chart-value") == ["25%", "50%", "150%", "-3%"]  # the real value stays visible
    assert tooltip(of_class(root, "rect", "chart-bar")[0]) == "email: 25%"


def test_hbar_tolerates_a_zero_maximum_and_other_units() -> None:
    root = parse(hbar_chart([("a", 3)], 0, title="t", unit=" members"))
    assert texts(root, "chart-value") == ["3 members"]


def test_charts_on_one_page_get_distinct_ids() -> None:
    ids = {parse(bar_chart([("a", n)], title="Same title")).get("aria-labelledby") for n in (1, 2, 3)}
    assert len(ids) == 3


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (7, "7"), (12.5, "12.5"), (0.5, "0.5"), (950, "950"), (999.4, "1k"), (1000, "1k"),
    (1234, "1.2k"), (15_000, "15k"), (999_950, "1M"), (3_400_000, "3.4M"), (2.5e9, "2.5B"),
    (-1500, "-1.5k"), (math.nan, "–"),
])  # fmt: skip
def test_compact_number_formatting(value: float, text: str) -> None:
    assert compact(value) == text


@pytest.mark.parametrize(("value", "nice"), [
    (0, 1), (-4, 1), (math.nan, 1), (1, 1), (7, 8), (81, 100), (1000, 1000), (1200, 1500), (2600, 3000), (0.3, 0.3),
])  # fmt: skip
def test_nice_max_rounds_up_to_a_readable_number(value: float, nice: float) -> None:
    assert nice_max(value) == pytest.approx(nice)
    assert nice_max(value) >= value or not value > 0
