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
    flat = " ".join(out.split())
    assert "NEW INCIDENT · incident #7" in out and "[Thu 26 Nov 09:05 CET]" in out
    assert "Shitstorm on acme — 4/6 storm, rising" in out
    assert "Why it opened (08:40 CET): 19 negative mentions in the last 5 min" in flat
    assert (
        "Now (09:05 CET): 130 negative posts in the last 15 min vs 9.6 expected (13.5×); "
        "65% negative vs 18% usual"
    ) in flat
    assert "since Thu 26 Nov 08:35 CET (30m) · trend rising" in out
    assert (
        "Acknowledge (shitstorm incidents ack 7 --by NAME) to stop the paging: until "
        "someone does, @S0ONCALL is paged again at 09:10 CET (escalation 1 of 3)."
    ) in flat
    assert "#boykott (31 posts, 12× usual)" in out
    assert "mastodon 30 · hackernews 12  |  de 35 · en 7" in out
    assert "“ACME hat mein Geld genommen" in out and "https://social.example/@wut/1" in out
    assert "Severity 0–6: 1 unusual chatter" in flat
    assert "UTC" not in out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert out.endswith("\n")


def test_console_and_slack_say_the_same_things() -> None:
    import json

    from alerts.slack_blocks import incident_blocks
    from alerts.wording import headline, why_lines

    payload = {
        **incident_update(sample_payload(), escalations=3, peak_severity=5),
        "trend": "falling",
        "recent": {**sample_payload()["recent"], "severity": 2},
    }
    out = " ".join(printed("updated", payload).split())
    slack = json.dumps(incident_blocks(payload), ensure_ascii=False)
    assert headline(payload) in out and headline(payload) in slack
    assert headline(payload).endswith("peaked 5/6 strong storm · now 2/6 growing criticism, easing")
    for _, text in why_lines(payload):
        assert text in out and text in slack


def test_resolved_incident_reads_as_a_summary() -> None:
    resolved = incident_update(
        sample_payload(),
        status="resolved",
        acknowledged_by="U1|Dana",
        acknowledged_at="2026-11-26T08:07:00+00:00",
        resolved_by="U1|Dana",
        resolved_at="2026-11-26T10:00:00+00:00",
        feedback="expected_campaign",
    )
    out = printed("resolved", resolved)
    flat = " ".join(out.split())
    assert "Resolved: acme — peaked 4/6 storm" in out
    assert "Lasted 2h 25m, Thu 26 Nov 08:35 CET – 11:00 CET" in flat
    assert "Peak 4/6 storm, 60 negative posts in one bucket at 08:55 CET" in flat
    assert "190 negative of 310 posts" in flat
    assert "acknowledged by Dana at 09:07 CET" in out and "Expected (campaign)" in out
    assert "top posts" not in out and "Now (" not in out and "paged" not in out


def test_escalation_names_who_is_paged() -> None:
    payload = {
        **sample_payload(),
        "escalation": {"mention": "<!subteam^S1|oncall> <@U1> <@U2>", "count": 2},
    }
    out = printed("escalated", payload)
    assert "ESCALATED" in out and "paging @oncall @U1 @U2" in out


def test_source_down_is_one_line() -> None:
    payload = {
        "topic": "acme",
        "source": "mastodon",
        "error": "HTTP 503",
        "since": "2026-11-26T07:00:00+00:00",
        "channel": None,
    }
    out = printed("source_down", payload, incident_id=None)
    assert out == (
        "[Thu 26 Nov 08:05 UTC] !! Source mastodon for topic acme is failing "
        "since 07:00 UTC: HTTP 503\n"
    )
    berlin = printed("source_down", {**payload, "timezone": "Europe/Berlin"}, incident_id=None)
    assert berlin.startswith("[Thu 26 Nov 09:05 CET] !!") and "since 08:00 CET" in berlin


def test_sparse_payload_still_prints() -> None:
    out = printed("updated", {"topic": "acme", "incident": {"id": 3, "severity": 2}})
    assert "Shitstorm on acme — 2/6 growing criticism" in out
