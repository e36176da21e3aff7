"""Block Kit rendering: what a community manager reads in ten seconds, within Slack's limits."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from alerts.slack_blocks import (
    ACTION_IDS,
    incident_blocks,
    incident_text,
    severity_label,
    thread_reply_text,
)
from monitor.models import NotificationKind
from tests.fake_slack import block_kit_problem, incident_update, sample_payload


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions"
            for e in b["elements"]}


def oversized_payload() -> dict[str, Any]:
    huge = "Shitstorm " * 20_000
    return sample_payload(
        topic="t" * 500,
        reason=huge,
        top_posts=[{"text": huge + "<!channel>", "author": "a" * 5000, "source": "s" * 5000,
                    "url": "https://example.org/" + "x" * 5000, "lang": "de" * 100,
                    "created_at": "2026-11-26T08:01:00+00:00",
                    "engagement": {f"k{i}": i + 1 for i in range(100)}} for _ in range(1000)],
        drivers=[{"term": "#" + "w" * 1000, "count": i, "lift": 1.5} for i in range(1000)],
        split={"source": {f"src{i}" * 50: i for i in range(500)},
               "lang": {f"l{i}" * 50: i for i in range(500)}},
    )


def test_an_oversized_payload_stays_within_slack_limits() -> None:
    payload = oversized_payload()
    for status in ("open", "acknowledged", "resolved"):
        snapshot = incident_update(payload, status=status, acknowledged_by="U1|" + "n" * 999,
                                   feedback="x" * 5000)
        blocks = incident_blocks(snapshot)
        assert block_kit_problem(blocks) is None
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
            payload["incident"] = {k: v for k, v in full["incident"].items()
                                   if rng.random() < 0.5}
        blocks = incident_blocks(payload)
        assert block_kit_problem(blocks) is None, payload
        assert incident_text(payload)


def test_user_text_cannot_ping_the_channel_or_inject_links() -> None:
    payload = sample_payload(top_posts=[{"text": "<!channel> look <https://evil.example|here>",
                                         "author": "<@U999>", "source": "mastodon"}])
    rendered = json.dumps(incident_blocks(payload))
    assert "<!channel>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt;" in rendered and "&lt;@U999&gt;" in rendered


def test_the_message_leads_with_topic_severity_and_numbers() -> None:
    blocks = incident_blocks(sample_payload())
    assert blocks[0] == {"type": "header", "text": {
        "type": "plain_text", "text": "🟠 Shitstorm on acme — severity 4/6 storm", "emoji": True}}
    text = json.dumps(blocks, ensure_ascii=False)
    for expected in ("42 negative mentions vs 9 expected", "42 of 69 posts (expected 9, up to 15)",
                     "61% (usual 18%)", "↗ rising", "for 30m", "`#boykott` (31 posts, 12× usual)",
                     "mastodon 30 · hackernews 12", "de 35 · en 7", "♥ 12 🔁 3",
                     "<https://social.example/@wut/1|open>", "Not acknowledged yet"):
        assert expected in text, expected


def test_buttons_carry_the_incident_id_and_follow_the_lifecycle() -> None:
    payload = sample_payload()
    assert buttons(incident_blocks(payload)) == {action_id: "7" for action_id in
                                                 ACTION_IDS.values()}
    acked = incident_update(payload, status="acknowledged", acknowledged_by="U1|Dana")
    assert set(buttons(incident_blocks(acked))) == {
        "shitstorm_resolve", "shitstorm_not_a_shitstorm", "shitstorm_expected_campaign"}
    labelled = incident_update(acked, feedback="not_a_shitstorm")
    assert set(buttons(incident_blocks(labelled))) == {"shitstorm_resolve"}
    assert "Feedback: Not a shitstorm" in json.dumps(incident_blocks(labelled))
    resolved = incident_update(labelled, status="resolved")
    assert buttons(incident_blocks(resolved)) == {}


def test_resolved_message_is_a_summary() -> None:
    resolved = incident_update(
        sample_payload(), status="resolved", peak_severity=5, acknowledged_by="U42|Dana",
        acknowledged_at="2026-11-26T07:40:00+00:00", resolved_by=None,
        resolved_at="2026-11-26T09:05:00+00:00")
    blocks = incident_blocks(resolved)
    assert blocks[0]["text"]["text"] == "✅ Resolved: acme — peaked at 5/6 violent storm"
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Lasted 1h 30m*" in text
    assert "60 negative posts in one bucket" in text and "190 negative of 310 posts" in text
    assert "Acknowledged by <@U42>" in text and "Resolved by auto" in text
    assert "Negative now" not in text  # the live numbers are gone; the summary stays


@pytest.mark.parametrize(("severity", "label"), [(0, "0/6 calm"), (3, "3/6 strong wind"),
                                                 (6, "6/6 hurricane"), (9, "6/6 hurricane")])
def test_severity_scale_names(severity: int, label: str) -> None:
    assert severity_label(severity) == label


def test_quiet_updates_get_no_thread_reply_but_reopening_does() -> None:
    payload = sample_payload()
    assert thread_reply_text(NotificationKind.UPDATED, payload) is None
    assert thread_reply_text(NotificationKind.OPENED, payload) is None
    reopened = incident_update(payload, reopened=True)
    assert (thread_reply_text(NotificationKind.OPENED, reopened) or "").startswith("🔁 *Reopened*")
