"""The incident chart: the storm up close with calm around it, in the topic's time zone."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

from alerts.chart import MIN_CONTEXT, _points, close_up_start, render_chart
from tests.fake_slack import incident_update, sample_payload


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_young_storm_gets_two_hours_of_calm_before_it_not_a_day() -> None:
    payload = sample_payload()  # 24 h of series, the storm in the last 30 minutes
    points = _points(payload["series"])
    opened_at = datetime.fromisoformat(payload["incident"]["opened_at"])
    start = close_up_start(points, opened_at)
    assert start == opened_at - MIN_CONTEXT
    storm_share = (points[-1][0] - opened_at) / (points[-1][0] - start)
    assert storm_share > 0.15  # a shape, not a sliver at the right edge


def test_a_long_storm_gets_as_much_calm_as_it_lasted() -> None:
    payload = sample_payload()
    points = _points(payload["series"])
    opened_at = points[-1][0] - timedelta(hours=6)
    assert close_up_start(points, opened_at) == opened_at - timedelta(hours=6)


def test_the_chart_renders_for_every_stage_and_without_an_opening() -> None:
    payload = sample_payload()
    for snapshot in (
        payload,
        incident_update(payload, status="resolved"),
        {**payload, "incident": {}},
        {**payload, "timezone": "Nowhere/City"},
    ):
        png = render_chart(snapshot)
        assert png is not None and png_size(png) == (1000, 560)
    assert render_chart({**payload, "series": payload["series"][:1]}) is None
