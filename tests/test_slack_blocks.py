"""Block Kit rendering: what a community manager reads in ten seconds, within Slack's limits."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from alerts.formatting import severity_label
from alerts.slack_blocks import (
    ACTION_IDS,
    incident_blocks,
    incident_text,
    thread_reply_text,
)
from monitor.models import NotificationKind
from tests.fake_slack import block_kit_problem, incident_update, sample_payload


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
    }


def oversized_payload() -> dict[str, Any]:
    huge = "Shitstorm " * 20_000
    return sample_payload(
        topic="t" * 500,
        reason=huge,
        top_posts=[
            {
                "text": huge + "<!channel>",
                "author": "a" * 5000,
                "source": "s" * 5000,
                "url": "https://example.org/" + "x" * 5000,
                "lang": "de" * 100,
                "created_at": "2026-11-26T08:01:00+00:00",
                "engagement": {f"k{i}": i + 1 for i in range(100)},
            }
            for _ in range(1000)
        ],
        drivers=[{"term": "#" + "w" * 1000, "count": i, "lift": 1.5} for i in range(1000)],
        split={
            "source": {f"src{i}" * 50: i for i in range(500)},
            "lang": {f"l{i}" * 50: i for i in range(500)},
        },
        opening={
            "start_at": "2026-11-26T07:35:00+00:00",
            "end_at": "2026-11-26T07:40:00+00:00",
            "reason": huge,
        },
        escalation={
            "mention": "<@U1> " * 2000,
            "count": 1,
            "max": 3,
            "next_at": "2026-11-26T08:20:00+00:00",
        },
        silenced={"until": "2026-11-26T12:00:00+00:00", "reason": huge},
        timezone="America/Argentina/ComodRivadavia",
    )


def test_an_oversized_payload_stays_within_slack_limits() -> None:
    payload = oversized_payload()
    for status in ("open", "acknowledged", "resolved"):
        snapshot = incident_update(
            payload, status=status, acknowledged_by="U1|" + "n" * 999, feedback="x" * 5000
        )
        blocks = incident_blocks(snapshot)
        assert block_kit_problem(blocks) is None
        header = blocks[0]["text"]["text"]
        assert "4/6 storm" in header  # a long topic name is cut, not the levels
        assert len(json.dumps(blocks)) < 40_000
        assert 0 < len(incident_text(snapshot)) <= 3000
        for kind in NotificationKind:
            reply = thread_reply_text(kind, snapshot)
            assert reply is None or len(reply) <= 3000


def test_random_and_sparse_payloads_always_render_valid_blocks() -> None:
    rng = random.Random(5)
    full = sample_payload()
    for _ in range(200):
        payload = {k: v for k, v in full.items() if rng.random() < 0.6}
        if "incident" in payload and rng.random() < 0.5:
            payload["incident"] = {k: v for k, v in full["incident"].items() if rng.random() < 0.5}
        blocks = incident_blocks(payload)
        assert block_kit_problem(blocks) is None, payload
        assert incident_text(payload)


def test_user_text_cannot_ping_the_channel_or_inject_links() -> None:
    payload = sample_payload(
        top_posts=[
            {
                "text": "<!channel> look <https://evil.example|here>",
                "author": "<@U999>",
                "source": "mastodon",
            }
        ]
    )
    rendered = json.dumps(incident_blocks(payload))
    assert "<!channel>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt;" in rendered and "&lt;@U999&gt;" in rendered


def test_the_message_leads_with_topic_severity_and_numbers() -> None:
    blocks = incident_blocks(sample_payload())
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "🟠 Shitstorm on acme — 4/6 storm, rising",
            "emoji": True,
        },
    }
    text = json.dumps(blocks, ensure_ascii=False)
    for expected in (
        "*Why it opened (08:40 CET):* 19 negative mentions in the last 5 min",
        "*Now (09:05 CET):* 130 negative posts in the last 15 min vs 9.6 expected "
        "(13.5×); 65% negative vs 18% usual",
        "Thu 26 Nov 08:35 CET · for 30m",
        "↗ rising",
        "`#boykott` (31 posts, 12× usual)",
        "mastodon 30 · hackernews 12",
        "de 35 · en 7",
        "♥ 12 🔁 3",
        "<https://social.example/@wut/1|open>",
        "Not acknowledged yet",
        "Severity 0–6: 1 unusual chatter · 2 growing criticism",
    ):
        assert expected in text, expected
    assert "UTC" not in text


def test_an_easing_storm_shows_its_peak_and_its_level_now() -> None:
    easing = {
        **incident_update(sample_payload(), severity=0, peak_severity=4, escalations=3),
        "trend": "falling",
        "reason": "4 negative mentions in the last 5 min vs 0 "
        "expected (13.7×); 40% negative vs 18% usual",
        "recent": {**sample_payload()["recent"], "negative": 20, "severity": 1},
    }
    header = incident_blocks(easing)[0]["text"]["text"]
    assert header == "🟠 Shitstorm on acme — peaked 4/6 storm · now 1/6 unusual chatter, easing"
    assert "calm" not in header
    calm = {**easing, "recent": {**easing["recent"], "negative": 9, "severity": 0}}
    text = json.dumps(incident_blocks(calm), ensure_ascii=False)
    assert "peaked 4/6 storm · now back to usual" in text
    assert "back within the usual range" in text
    # The opening evidence stays; what it is now is a separate line.
    assert "*Why it opened (08:40 CET):* 19 negative mentions in the last 5 min" in text


def test_one_expected_per_line_and_small_expectations_keep_their_decimal() -> None:
    payload = sample_payload(recent={**sample_payload()["recent"], "expected": 0.4, "negative": 12})
    text = json.dumps(incident_blocks(payload), ensure_ascii=False)
    assert "12 negative posts in the last 15 min vs 0.4 expected (30.0×)" in text
    assert "(expected " not in text and "up to" not in text


def test_what_acknowledging_does_follows_the_paging_state() -> None:
    payload = sample_payload()
    text = json.dumps(incident_blocks(payload), ensure_ascii=False)
    assert (
        "Acknowledge to stop the paging: until someone does, <!subteam^S0ONCALL> is paged "
        "again at 09:10 CET (escalation 1 of 3)."
    ) in text
    spent = {
        **incident_update(payload, escalations=3),
        "escalation": {**payload["escalation"], "count": 3, "next_at": None},
    }
    assert "<!subteam^S0ONCALL> was paged 3×, and no more pages will be sent" in json.dumps(
        incident_blocks(spent), ensure_ascii=False
    )
    silenced = {**payload, "silenced": {"until": "2026-11-26T12:00:00+00:00", "reason": "launch"}}
    text = json.dumps(incident_blocks(silenced), ensure_ascii=False)
    assert "nobody is paged while the topic is silenced" in text
    assert "Silenced until Thu 26 Nov 13:00 CET (launch)" in text
    acked = incident_update(
        payload,
        status="acknowledged",
        acknowledged_by="U1|Dana",
        acknowledged_at="2026-11-26T08:07:00+00:00",
    )
    text = json.dumps(incident_blocks(acked), ensure_ascii=False)
    assert "Acknowledged by <@U1> at 09:07 CET" in text
    assert "nobody is paged for it any more" in text and "resolves itself after 3h 00m" in text


def test_a_text_posted_many_times_is_shown_once_with_its_count() -> None:
    post = {**sample_payload()["top_posts"][0], "count": 12, "authors": 9}
    payload = sample_payload(
        top_posts=[post, {**post, "count": 1}, sample_payload()["top_posts"][1]]
    )
    text = json.dumps(incident_blocks(payload), ensure_ascii=False)
    assert text.count("ACME hat mein Geld genommen") == 1
    assert "*× 12 by 9 authors*" in text


def test_long_topics_keep_the_levels_in_the_header() -> None:
    payload = incident_update(sample_payload(topic="Deutsche Bahn Fernverkehr " * 20), severity=1)
    payload["recent"] = {**payload["recent"], "severity": 1}
    payload["trend"] = "falling"
    header = incident_blocks(payload)[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("· now 1/6 unusual chatter, easing")


def test_buttons_carry_the_incident_id_and_follow_the_lifecycle() -> None:
    payload = sample_payload()
    assert buttons(incident_blocks(payload)) == {
        action_id: "7" for action_id in ACTION_IDS.values()
    }
    acked = incident_update(payload, status="acknowledged", acknowledged_by="U1|Dana")
    assert set(buttons(incident_blocks(acked))) == {
        "shitstorm_resolve",
        "shitstorm_not_a_shitstorm",
        "shitstorm_expected_campaign",
    }
    labelled = incident_update(acked, feedback="not_a_shitstorm")
    assert set(buttons(incident_blocks(labelled))) == {"shitstorm_resolve"}
    assert "Feedback: Not a shitstorm" in json.dumps(incident_blocks(labelled))
    resolved = incident_update(labelled, status="resolved")
    assert buttons(incident_blocks(resolved)) == {}


def test_resolved_message_is_a_summary() -> None:
    resolved = incident_update(
        sample_payload(),
        status="resolved",
        peak_severity=5,
        acknowledged_by="U42|Dana",
        acknowledged_at="2026-11-26T07:40:00+00:00",
        resolved_by=None,
        resolved_at="2026-11-26T09:05:00+00:00",
    )
    blocks = incident_blocks(resolved)
    assert blocks[0]["text"]["text"] == "✅ Resolved: acme — peaked 5/6 strong storm"
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Lasted 1h 30m, Thu 26 Nov 08:35 CET – 10:05 CET*" in text
    assert "60 negative posts in one bucket" in text and "190 negative of 310 posts" in text
    assert "Acknowledged by <@U42>" in text and "Resolved by auto" in text
    assert "Why it opened (08:40 CET)" in text
    assert "*Now" not in text and "paged" not in text  # the live state is gone; the summary stays


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        (0, "0/6 calm"),
        (3, "3/6 criticism spreading"),
        (6, "6/6 nationwide outrage"),
        (9, "6/6 nationwide outrage"),
    ],
)
def test_severity_scale_names_are_the_readmes(severity: int, label: str) -> None:
    assert severity_label(severity) == label


def test_quiet_updates_get_no_thread_reply_but_reopening_does() -> None:
    payload = sample_payload()
    assert thread_reply_text(NotificationKind.UPDATED, payload) is None
    assert thread_reply_text(NotificationKind.OPENED, payload) is None
    reopened = incident_update(payload, reopened=True)
    assert (thread_reply_text(NotificationKind.OPENED, reopened) or "").startswith("🔁 *Reopened*")
