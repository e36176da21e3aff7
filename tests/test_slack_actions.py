"""Incident buttons over the daemon's HTTP endpoint: signed clicks change the incident once."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from alerts.incidents import Transition
from alerts.slack_blocks import ACTION_IDS
from monitor.models import IncidentStatus, NotificationKind
from monitor.pipeline.context import Context
from monitor.pipeline.notify import apply
from monitor.pipeline.outbox import deliver
from monitor.runtime.service import Daemon
from monitor.store import Store
from tests.fake_slack import FakeSlack
from tests.support import BASE_SETTINGS, TOPIC, at, open_incident_at_noon, settings_in, wait_for

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = at(12, 10)


def signed(body: bytes, when: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(when.timestamp()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click(action: str, user: str, response_url: str, incident_id: int = 1) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower()},
        "actions": [{"action_id": ACTION_IDS[action], "value": str(incident_id), "type": "button"}],
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


class Monitor:
    def __init__(self, folder: Path, slack: FakeSlack, extra: str = "") -> None:
        section = (
            f'[slack]\nchannel = "#social-alerts"\napi_url = "{slack.base_url}"\n'
            f"upload_charts = false\n{extra}"
        )
        self.settings = settings_in(folder, BASE_SETTINGS, section, TOPIC)
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
        self.daemon = Daemon(self.settings, stdout=io.StringIO(), clock=lambda: NOW, environ=env)
        self.store = Store(self.settings.monitor.database)
        self.store.migrate()
        self.daemon._start_http()
        self.url = self.daemon.http.url
        self.slack = slack
        incident = self.store.save_incident(open_incident_at_noon())
        self.env = env
        self.incident = incident

    def context(self) -> Context:
        return self.daemon.runtime.context(self.store)

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/slack/actions", content=body, headers=headers, timeout=5)

    def close(self) -> None:
        self.daemon.http.stop()
        self.store.close()


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Monitor]:
    with FakeSlack() as slack:
        m = Monitor(tmp_path, slack)
        yield m
        m.close()


def test_acknowledge_is_applied_once_and_updates_the_message(monitor: Monitor) -> None:
    apply(
        monitor.context(),
        Transition(monitor.incident, [NotificationKind.OPENED]),
        at(12, 5),
        "detector",
    )
    alerters = monitor.daemon.runtime.alerters
    assert deliver(monitor.context(), alerters, at(12, 5)) == 1

    body = click("acknowledge", "U0LENA", monitor.slack.response_url)
    assert monitor.post(body, signed(body)).status_code == 200
    other = click("acknowledge", "U0TOM", monitor.slack.response_url)
    assert monitor.post(other, signed(other)).status_code == 200  # a second person, same time

    incident = monitor.store.incident(1)
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_by == "U0LENA|u0lena" and incident.acknowledged_at == NOW
    assert [kind for _, kind, _ in monitor.store.incident_events(1)] == ["opened", "acknowledged"]

    assert deliver(monitor.context(), alerters, NOW) == 1
    channel = monitor.slack.channel_id("#social-alerts") or ""
    (message,) = monitor.slack.messages[channel]
    assert len(message.updates) == 1 and "U0LENA" in json.dumps(message.blocks)


def test_feedback_resolves_and_is_stored(monitor: Monitor) -> None:
    body = click("not_a_shitstorm", "U0LENA", monitor.slack.response_url)
    assert monitor.post(body, signed(body)).status_code == 200
    incident = monitor.store.incident(1)
    assert incident.feedback == "not_a_shitstorm"
    assert incident.status is IncidentStatus.RESOLVED and incident.resolved_by == "U0LENA|u0lena"
    kinds = [n.kind for n, _ in monitor.store.notifications(1)]
    assert kinds == [NotificationKind.FEEDBACK, NotificationKind.RESOLVED]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": str(int(NOW.timestamp())), "X-Slack-Signature": "v0=00"},
        {},
    ],
    ids=["bad signature", "no signature"],
)
def test_unsigned_or_badly_signed_clicks_are_rejected(
    monitor: Monitor, headers: dict[str, str]
) -> None:
    body = click("resolve", "U0LENA", monitor.slack.response_url)
    assert monitor.post(body, headers).status_code == 401
    assert monitor.store.incident(1).status is IncidentStatus.OPEN


def test_stale_signatures_are_rejected(monitor: Monitor) -> None:
    body = click("resolve", "U0LENA", monitor.slack.response_url)
    stale = signed(body, when=at(12, 4))  # six minutes old: a replayed request
    assert monitor.post(body, stale).status_code == 401
    wrong_secret = signed(body, secret="not-the-secret")
    assert monitor.post(body, wrong_secret).status_code == 401
    assert monitor.store.incident(1).status is IncidentStatus.OPEN


def test_the_allowlist_refuses_others_with_an_ephemeral_answer(tmp_path: Path) -> None:
    with FakeSlack() as slack:
        m = Monitor(tmp_path, slack, extra='allowed_users = ["U0LENA"]\n')
        try:
            body = click("resolve", "U0TOM", slack.response_url)
            assert m.post(body, signed(body)).status_code == 200
            assert m.store.incident(1).status is IncidentStatus.OPEN
            (answer,) = slack.responses
            assert answer["response_type"] == "ephemeral" and "not on the list" in answer["text"]
            body = click("resolve", "U0LENA", slack.response_url)
            m.post(body, signed(body))
            assert m.store.incident(1).status is IncidentStatus.RESOLVED
        finally:
            m.close()


def test_an_unknown_incident_is_answered_not_crashed(monitor: Monitor) -> None:
    body = click("acknowledge", "U0LENA", monitor.slack.response_url, incident_id=42)
    assert monitor.post(body, signed(body)).status_code == 200
    assert "does not exist" in monitor.slack.responses[0]["text"]


def test_socket_mode_clicks_reach_the_incident(tmp_path: Path) -> None:
    from tests.fake_slack import FakeSocketMode

    with FakeSlack() as slack, FakeSocketMode() as socket:
        slack.socket_url = socket.url
        m = Monitor(tmp_path, slack)
        m.daemon.environ = {**m.env, "SLACK_APP_TOKEN": "xapp-test"}
        m.daemon._start_slack_interactivity()
        try:
            socket.push(
                {
                    "type": "block_actions",
                    "user": {"id": "U0DANA", "username": "dana", "name": "dana"},
                    "response_url": slack.response_url,
                    "actions": [
                        {"type": "button", "action_id": ACTION_IDS["acknowledge"], "value": "1"}
                    ],
                }
            )
            socket.wait_ack()
            wait_for(lambda: m.store.incident(1).status is IncidentStatus.ACKNOWLEDGED)
            assert m.store.incident(1).acknowledged_by == "U0DANA|dana"
        finally:
            m.daemon.socket_mode.close()
            m.close()
