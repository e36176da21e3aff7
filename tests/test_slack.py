"""SlackAlerter against the fake Slack Web API, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from alerts.base import AlertError
from alerts.slack import CHART_TRIES, SlackAlerter
from alerts.slack_errors import TOKEN_HOLD
from tests.fake_slack import FakeSlack, incident_update, make_notification, sample_payload


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def alerter_for(
    slack: FakeSlack, channel: str = "C0ALERTS", *, upload_charts: bool = True
) -> SlackAlerter:
    client = WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{slack.port}/api/")
    return SlackAlerter(client, channel, upload_charts=upload_charts)


def test_opened_posts_one_message_with_blocks_fallback_metadata_and_chart(
    slack: FakeSlack,
) -> None:
    ref = alerter_for(slack).send(make_notification("opened"), None, retrying=False)

    assert ref is not None
    [message] = slack.messages["C0ALERTS"]
    assert json.loads(ref) == {"channel": "C0ALERTS", "ts": message.ts}
    assert "acme" in message.text and "4/6" in message.text
    assert message.blocks[0]["type"] == "header"
    assert message.metadata == {
        "event_type": "shitstorm_incident",
        "event_payload": {"incident_id": 7, "topic": "acme"},
    }
    # The chart lands in the thread, as a PNG.
    [chart] = message.files
    assert slack.uploads[chart["id"]].startswith(b"\x89PNG")
    assert not message.replies  # a new incident needs no thread note besides the chart


def test_later_notifications_update_in_place_and_reply_in_thread(slack: FakeSlack) -> None:
    alerter = alerter_for(slack)
    payload = sample_payload()
    ref = alerter.send(make_notification("opened", payload, id=1), None, retrying=False)
    quiet = incident_update(payload, updated_at="2026-11-26T08:10:00+00:00")
    ref = alerter.send(make_notification("updated", quiet, id=2), ref, retrying=False)
    worse = incident_update(payload, severity=6, peak_severity=6)
    ref = alerter.send(make_notification("severity_up", worse, id=3), ref, retrying=False)

    [message] = slack.messages["C0ALERTS"]
    assert len(message.updates) == 2
    assert "6/6 nationwide outrage" in message.text
    [reply] = message.replies
    assert "Severity up" in reply.text and "6/6" in reply.text
    assert len(message.files) == 2  # a fresh chart for the new severity


def test_acknowledge_and_resolve_change_the_message_and_note_it_in_the_thread(
    slack: FakeSlack,
) -> None:
    alerter = alerter_for(slack)
    payload = sample_payload()
    ref = alerter.send(make_notification("opened", payload, id=1), None, retrying=False)
    acked = incident_update(
        payload,
        status="acknowledged",
        acknowledged_by="U42|Dana",
        acknowledged_at="2026-11-26T08:07:00+00:00",
    )
    acked["actor"] = "U42|Dana"
    ref = alerter.send(make_notification("acknowledged", acked, id=2), ref, retrying=False)
    [message] = slack.messages["C0ALERTS"]
    assert "<@U42>" in json.dumps(message.blocks)
    action_ids = [
        e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert "shitstorm_acknowledge" not in action_ids and "shitstorm_resolve" in action_ids

    resolved = incident_update(
        acked, status="resolved", resolved_by="U7|Kim", resolved_at="2026-11-26T10:20:00+00:00"
    )
    resolved["actor"] = "U7|Kim"
    alerter.send(make_notification("resolved", resolved, id=3), ref, retrying=False)
    assert message.text.startswith("Resolved: acme")
    rendered = json.dumps(message.blocks)
    assert "Lasted 2h 45m" in rendered and "<@U42>" in rendered
    assert [r.text for r in message.replies] == [
        "👀 <@U42> is on it.",
        "✅ *Resolved* by <@U7> after 2h 45m. Peak 4/6 storm.",
    ]


def test_escalation_mentions_on_call_and_is_broadcast(slack: FakeSlack) -> None:
    alerter = alerter_for(slack)
    payload = sample_payload()
    ref = alerter.send(make_notification("opened", payload, id=1), None, retrying=False)
    escalated = {
        **incident_update(payload, escalations=1),
        "escalation": {"mention": "<!subteam^S0123>", "count": 1},
    }
    alerter.send(make_notification("escalated", escalated, id=2), ref, retrying=False)

    [reply] = slack.messages["C0ALERTS"][0].replies
    assert reply.text.startswith("📣 <!subteam^S0123>")
    assert reply.reply_broadcast


def test_retry_after_a_crash_updates_the_earlier_post_instead_of_posting_twice(
    slack: FakeSlack,
) -> None:
    alerter = alerter_for(slack, channel="#social-alerts", upload_charts=False)
    alerter.send(make_notification("opened", id=1), None, retrying=False)
    # The process died before storing the ref; the outbox retries the same notification.
    ref = alerter.send(make_notification("opened", id=1), None, retrying=True)

    [message] = slack.messages["C0ALERTS"]
    assert json.loads(ref or "{}") == {"channel": "C0ALERTS", "ts": message.ts}
    assert len(message.updates) == 1
    [history] = slack.calls_to("conversations.history")
    assert history.args["channel"] == "C0ALERTS" and history.args["include_all_metadata"] == "1"


def test_retried_thread_reply_is_not_posted_twice(slack: FakeSlack) -> None:
    alerter = alerter_for(slack, upload_charts=False)
    payload = sample_payload()
    ref = alerter.send(make_notification("opened", payload, id=1), None, retrying=False)
    worse = incident_update(payload, severity=5)
    alerter.send(make_notification("severity_up", worse, id=2), ref, retrying=False)
    alerter.send(make_notification("severity_up", worse, id=2), ref, retrying=True)

    assert len(slack.messages["C0ALERTS"][0].replies) == 1


def test_retrying_without_an_earlier_post_posts(slack: FakeSlack) -> None:
    ref = alerter_for(slack, upload_charts=False).send(
        make_notification("opened"), None, retrying=True
    )
    assert ref is not None and len(slack.messages["C0ALERTS"]) == 1


def test_per_topic_channel_override(slack: FakeSlack) -> None:
    payload = sample_payload(channel="#ops")
    alerter_for(slack, upload_charts=False).send(
        make_notification("opened", payload), None, retrying=False
    )
    assert list(slack.messages) == ["C0OPS"]


def test_deleted_message_is_posted_again(slack: FakeSlack) -> None:
    alerter = alerter_for(slack, upload_charts=False)
    ref = alerter.send(make_notification("opened", id=1), None, retrying=False)
    slack.messages["C0ALERTS"].clear()
    new_ref = alerter.send(make_notification("updated", id=2), ref, retrying=False)
    assert new_ref != ref and len(slack.messages["C0ALERTS"]) == 1


def test_rate_limit_becomes_a_retry_after_not_a_sleep(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=42)
    with pytest.raises(AlertError) as raised:
        alerter_for(slack).send(make_notification("opened"), None, retrying=False)
    assert not raised.value.permanent
    assert raised.value.retry_after == timedelta(seconds=42)
    assert len(slack.calls_to("chat.postMessage")) == 1  # slack_sdk did not retry by itself


def test_rate_limit_handler_is_removed_from_the_client(slack: FakeSlack) -> None:
    from slack_sdk.http_retry import all_builtin_retry_handlers

    client = WebClient(
        token="xoxb-test", base_url=slack.base_url, retry_handlers=all_builtin_retry_handlers()
    )
    alerter = SlackAlerter(client, "C0ALERTS")
    slack.fail_next("chat.postMessage", status=429, retry_after=3600)
    with pytest.raises(AlertError) as raised:
        alerter.send(make_notification("opened"), None, retrying=False)
    assert raised.value.retry_after == timedelta(hours=1)


def test_outage_is_retryable_and_recovery_posts_once(slack: FakeSlack) -> None:
    alerter = alerter_for(slack, upload_charts=False)
    slack.fail_next("chat.postMessage", status=503, times=2)
    for _ in range(2):
        with pytest.raises(AlertError) as raised:
            alerter.send(make_notification("opened"), None, retrying=True)
        assert not raised.value.permanent and raised.value.retry_after is None
    assert alerter.send(make_notification("opened"), None, retrying=True) is not None
    assert len(slack.messages["C0ALERTS"]) == 1


def test_connection_refused_is_retryable() -> None:
    with FakeSlack() as fake:
        port = fake.port
    client = WebClient(
        token="xoxb-test", base_url=f"http://127.0.0.1:{port}/api/", retry_handlers=[]
    )
    with pytest.raises(AlertError) as raised:
        SlackAlerter(client, "C0ALERTS").send(make_notification("opened"), None, retrying=False)
    assert not raised.value.permanent
    assert "chat.postMessage" in str(raised.value)


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("channel_not_found", "not found"),
        ("not_in_channel", "/invite"),
        ("invalid_auth", "SLACK_BOT_TOKEN"),
        ("account_inactive", "deactivated"),
        ("token_revoked", "revoked"),
        ("missing_scope", "scope"),
    ],
)
def test_setup_errors_wait_for_the_fix_and_say_what_to_change(
    slack: FakeSlack, error: str, says: str
) -> None:
    slack.fail_next("chat.postMessage", status=200, error=error)
    with pytest.raises(AlertError) as raised:
        alerter_for(slack).send(make_notification("opened"), None, retrying=False)
    assert raised.value.needs_fixing and not raised.value.permanent
    assert says in raised.value.message and raised.value.alerter == "slack"
    # A wrong token holds the whole workspace back; a wrong channel only this alert.
    token = error in {"invalid_auth", "account_inactive", "token_revoked"}
    assert (raised.value.retry_after == TOKEN_HOLD) if token else raised.value.retry_after is None


def test_a_message_slack_rejects_is_dropped_with_the_reason(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=200, error="invalid_blocks")
    with pytest.raises(AlertError) as raised:
        alerter_for(slack).send(make_notification("opened"), None, retrying=False)
    assert raised.value.permanent and "blocks" in raised.value.message


def test_wrong_token_and_unknown_channel_wait_for_the_fix(slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-wrong", base_url=slack.base_url)
    with pytest.raises(AlertError) as raised:
        SlackAlerter(client, "C0ALERTS").send(make_notification("opened"), None, retrying=False)
    assert raised.value.needs_fixing and "invalid" in raised.value.message
    with pytest.raises(AlertError) as raised:
        alerter_for(slack, channel="#nope").send(make_notification("opened"), None, retrying=False)
    assert raised.value.needs_fixing and "#nope" in raised.value.message


def test_a_failed_chart_upload_fails_the_notification_and_its_retry_uploads_it_once(
    slack: FakeSlack,
) -> None:
    alerter = alerter_for(slack)
    notification = make_notification("opened")
    slack.fail_next("files.completeUploadExternal", status=500)
    with pytest.raises(AlertError) as raised:
        alerter.send(notification, None, retrying=False)
    assert not raised.value.permanent
    [message] = slack.messages["C0ALERTS"]
    assert not message.files  # the alert itself is out
    alerter.send(replace(notification, attempts=1), None, retrying=True)
    alerter.send(replace(notification, attempts=2), None, retrying=True)  # once more: no-op
    assert len(slack.messages["C0ALERTS"]) == 1 and len(message.files) == 1
    assert message.files[0]["name"] == "incident-7-1.png"


def test_a_chart_refused_for_good_does_not_fail_the_notification(slack: FakeSlack) -> None:
    slack.fail_next("files.getUploadURLExternal", status=200, error="missing_scope")
    ref = alerter_for(slack).send(make_notification("opened"), None, retrying=False)
    assert ref is not None
    assert len(slack.messages["C0ALERTS"]) == 1 and not slack.messages["C0ALERTS"][0].files


def test_a_chart_that_keeps_failing_is_given_up_after_its_last_try(slack: FakeSlack) -> None:
    last_try = replace(make_notification("opened"), attempts=CHART_TRIES - 1)
    slack.fail_next("files.completeUploadExternal", status=503)
    assert alerter_for(slack).send(last_try, None, retrying=True) is not None
    assert not slack.messages["C0ALERTS"][0].files


def test_a_rate_limited_chart_upload_carries_the_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("files.getUploadURLExternal", status=429, retry_after=20)
    with pytest.raises(AlertError) as raised:
        alerter_for(slack).send(make_notification("opened"), None, retrying=False)
    assert raised.value.retry_after == timedelta(seconds=20)


def test_a_retried_opened_uploads_the_chart_a_crash_left_out_once(slack: FakeSlack) -> None:
    opened = make_notification("opened", id=1)
    # The process posted, then died before the chart went up; the outbox retries twice.
    alerter_for(slack, upload_charts=False).send(opened, None, retrying=False)
    for attempts in (1, 2):
        alerter_for(slack).send(replace(opened, attempts=attempts), None, retrying=True)
    [message] = slack.messages["C0ALERTS"]
    assert [f["name"] for f in message.files] == ["incident-7-1.png"]


def test_a_retried_severity_up_uploads_its_missing_chart_once(slack: FakeSlack) -> None:
    payload = sample_payload()
    ref = alerter_for(slack).send(make_notification("opened", payload, id=1), None, retrying=False)
    worse = make_notification("severity_up", incident_update(payload, severity=6), id=2)
    alerter_for(slack, upload_charts=False).send(worse, ref, retrying=False)
    for attempts in (1, 2):
        alerter_for(slack).send(replace(worse, attempts=attempts), ref, retrying=True)
    [message] = slack.messages["C0ALERTS"]
    assert [f["name"] for f in message.files] == ["incident-7-1.png", "incident-7-2.png"]
    assert len(message.replies) == 1


def test_source_down_and_up_are_plain_channel_messages(slack: FakeSlack) -> None:
    alerter = alerter_for(slack)
    down = {
        "topic": "acme",
        "source": "mastodon",
        "error": "HTTP 503 from social.example",
        "since": "2026-11-26T07:00:00+00:00",
        "channel": None,
    }
    assert (
        alerter.send(make_notification("source_down", down, incident_id=None), None, retrying=False)
        is None
    )
    alerter.send(make_notification("source_up", down, id=2, incident_id=None), None, retrying=False)
    first, second = slack.messages["C0ALERTS"]
    assert "mastodon" in first.text and "failing" in first.text and "back" in second.text
    assert not first.updates
    assert first.metadata is not None
    assert first.metadata["event_payload"]["notification_id"] == 1


def test_a_retried_source_notice_is_not_posted_twice(slack: FakeSlack) -> None:
    alerter = alerter_for(slack)
    down = {"topic": "acme", "source": "rss", "error": "timeout", "since": None, "channel": None}
    notice = make_notification("source_down", down, id=7, incident_id=None)
    alerter.send(notice, None, retrying=False)
    # The process died before the delivery was recorded; the outbox retries the notice.
    alerter.send(notice, None, retrying=True)
    assert len(slack.messages["C0ALERTS"]) == 1
    # A notice that never got through is posted on retry.
    alerter.send(make_notification("source_up", down, id=8, incident_id=None), None, retrying=True)
    assert len(slack.messages["C0ALERTS"]) == 2


def test_an_oversized_payload_is_accepted_by_slack(slack: FakeSlack) -> None:
    from tests.test_slack_blocks import oversized_payload

    ref = alerter_for(slack, upload_charts=False).send(
        make_notification("opened", oversized_payload()), None, retrying=False
    )
    assert ref is not None and len(slack.messages["C0ALERTS"]) == 1


def test_a_retried_opened_does_not_upload_the_chart_twice(slack: FakeSlack) -> None:
    alerter = alerter_for(slack)
    alerter.send(make_notification("opened", id=1), None, retrying=False)
    alerter.send(make_notification("opened", id=1), None, retrying=True)
    assert len(slack.messages["C0ALERTS"][0].files) == 1
