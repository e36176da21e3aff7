"""ConsoleAlerter: what `make run` and `shitstorm demo` users read."""

from __future__ import annotations

import io
from typing import Any

from alerts.console import ConsoleAlerter
from tests.fake_slack import incident_update, make_notification, sample_payload


def printed(kind: str, payload: dict[str, Any], *, incident_id: int | None = 7) -> str:
    stream = io.StringIO()
    notification = make_notification(kind, payload, incident_id=incident_id)
    ref = ConsoleAlerter(stream).send(notification, None, retrying=False)
    assert ref is None
    return stream.getvalue()


def test_new_incident_says_what_where_how_bad_why_and_shows_posts_and_drivers() -> None:
    out = printed("opened", sample_payload())
    assert "NEW INCIDENT · incident #7" in out
    assert "Shitstorm on acme — severity 4/6 storm" in out
    assert "42 negative mentions vs 9 expected" in out
    assert "42 negative of 69 posts (expected 9), 61% negative (usual 18%)" in out
    assert "since 07:35 UTC (30m) · trend rising" in out
    assert "#boykott (31 posts, 12× usual)" in out
    assert "mastodon 30 · hackernews 12  |  de 35 · en 7" in out
    assert "“ACME hat mein Geld genommen" in out and "https://social.example/@wut/1" in out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert out.endswith("\n")


def test_resolved_incident_reads_as_a_summary() -> None:
    resolved = incident_update(
        sample_payload(), status="resolved", acknowledged_by="U1|Dana",
        acknowledged_at="2026-11-26T08:07:00+00:00", resolved_by="U1|Dana",
        resolved_at="2026-11-26T10:00:00+00:00", feedback="expected_campaign")
    out = printed("resolved", resolved)
    assert "Resolved: acme — peaked at 4/6 storm" in out
    assert "since 07:35 UTC (2h 25m)" in out
    assert "summary:  peak 4/6 storm, 190 negative of 310 posts in total" in out
    assert "acknowledged by Dana at 08:07 UTC" in out and "Expected (campaign)" in out
    assert "top posts" not in out and "now:" not in out


def test_escalation_names_who_is_paged() -> None:
    payload = {**sample_payload(),
               "escalation": {"mention": "<!subteam^S1|oncall> <@U1> <@U2>", "count": 2}}
    out = printed("escalated", payload)
    assert "ESCALATED" in out and "paging @oncall @U1 @U2" in out


def test_source_down_is_one_line() -> None:
    payload = {"topic": "acme", "source": "mastodon", "error": "HTTP 503",
               "since": "2026-11-26T07:00:00+00:00", "channel": None}
    out = printed("source_down", payload, incident_id=None)
    assert out == ("[2026-11-26 08:05 UTC] !! Source mastodon for topic acme is failing "
                   "since 07:00 UTC: HTTP 503\n")


def test_sparse_payload_still_prints() -> None:
    out = printed("updated", {"topic": "acme", "incident": {"id": 3, "severity": 2}})
    assert "Shitstorm on acme — severity 2/6 fresh breeze" in out
