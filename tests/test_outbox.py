"""The outbox: Slack down delays notifications but never drops or doubles them.

The real ``slack_sdk.WebClient`` talks to a fake Slack Web API on loopback.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.base import Alerter
from alerts.console import ConsoleAlerter
from alerts.incidents import Transition
from monitor.models import Bucket, Incident, IncidentStatus, NotificationKind
from monitor.pipeline.context import Context
from monitor.pipeline.notify import apply, escalate
from monitor.pipeline.outbox import deliver
from monitor.runtime.assembly import alerter_names, build_alerters
from monitor.runtime.service import Daemon
from monitor.settings import Settings
from monitor.store import Store
from tests.fake_slack import FakeSlack
from tests.support import BASE_SETTINGS, TOPIC, at, open_incident_at_noon, settings_in

ENV = {"SLACK_BOT_TOKEN": "xoxb-test"}


def context(store: Store, settings: Settings) -> Context:
    """The daemon's, run with the Slack token set."""
    return Context(store, settings, tuple(alerter_names(settings, ENV)))


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def slack_settings(folder: Path, slack: FakeSlack) -> Settings:
    section = f'[slack]\nchannel = "#social-alerts"\napi_url = "{slack.base_url}"\n'
    section += "upload_charts = false\n"
    return settings_in(folder, BASE_SETTINGS, section, TOPIC)


@dataclass
class Outbox:
    """A monitor posting to the fake Slack: its settings, store, alerters and one open incident."""

    settings: Settings
    store: Store
    alerters: dict[str, Alerter]
    incident: Incident

    def deliver(self, now: datetime) -> int:
        return deliver(context(self.store, self.settings), self.alerters, now)


@pytest.fixture
def outbox(tmp_path: Path, slack: FakeSlack) -> Outbox:
    settings = slack_settings(tmp_path, slack)
    store = Store(settings.monitor.database)
    store.migrate()
    incident = open_incident(store, settings)
    return Outbox(settings, store, build_alerters(settings, io.StringIO(), ENV), incident)


def open_incident(store: Store, settings: Settings) -> Incident:
    incident = store.save_incident(open_incident_at_noon())
    apply(
        context(store, settings),
        Transition(incident, [NotificationKind.OPENED]),
        at(12, 5),
        "detector",
    )
    return incident


def test_notifications_go_to_slack_only_when_a_token_is_set(
    tmp_path: Path, slack: FakeSlack
) -> None:
    settings = slack_settings(tmp_path, slack)
    assert alerter_names(settings, {}) == ["console"]
    assert alerter_names(settings, ENV) == ["slack"]


@pytest.mark.parametrize(
    ("process_env", "daemon_env", "expected"),
    [({}, ENV, ["slack"]), (ENV, {}, ["console"])],
    ids=["token given to the daemon only", "token in the process environment only"],
)
def test_the_daemon_notifies_the_alerters_of_the_environment_it_was_given(
    tmp_path: Path,
    slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    process_env: dict[str, str],
    daemon_env: dict[str, str],
    expected: list[str],
) -> None:
    """What it writes for is what it delivers with: the outbox holds nothing it cannot send."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in process_env.items():
        monkeypatch.setenv(name, value)
    settings = slack_settings(tmp_path, slack)
    daemon = Daemon(settings, stdout=io.StringIO(), clock=lambda: at(12, 5), environ=daemon_env)
    store = daemon.store()
    store.migrate()
    incident = store.save_incident(open_incident_at_noon())
    apply(daemon.context(), Transition(incident, [NotificationKind.OPENED]), at(12, 5), "detector")
    assert [n.alerter for n, _ in store.notifications()] == expected
    assert list(daemon.runtime.alerters) == expected


def test_slack_outage_delays_but_delivers_exactly_once(outbox: Outbox, slack: FakeSlack) -> None:
    settings, store, alerters = outbox.settings, outbox.store, outbox.alerters
    slack.fail_next("chat.postMessage", status=500, times=2)

    assert deliver(context(store, settings), alerters, at(12, 5)) == 0
    assert deliver(context(store, settings), alerters, at(12, 5, 10)) == 0  # not due yet
    assert deliver(context(store, settings), alerters, at(12, 5, 31)) == 0  # second failure
    # Backoff doubles: 30 s, then 60 s.
    assert deliver(context(store, settings), alerters, at(12, 6, 20)) == 0
    assert deliver(context(store, settings), alerters, at(12, 6, 31)) == 1
    assert deliver(context(store, settings), alerters, at(12, 10)) == 0

    # After a restart (new connection, new client) nothing is sent again.
    store.close()
    store = Store(settings.monitor.database)
    assert (
        deliver(context(store, settings), build_alerters(settings, io.StringIO(), ENV), at(12, 20))
        == 0
    )
    posted = slack.messages[slack.channel_id("#social-alerts") or ""]
    assert len(posted) == 1
    assert "acme" in posted[0].text


def test_a_crash_after_posting_does_not_post_twice(outbox: Outbox, slack: FakeSlack) -> None:
    settings, store, alerters = outbox.settings, outbox.store, outbox.alerters
    incident = outbox.incident
    (notification,) = store.due_notifications(at(12, 5))
    # The process posts, then dies before it can record that it did.
    store.begin_attempt(notification.id)
    alerters["slack"].send(notification, None, retrying=False)

    assert deliver(context(store, settings), alerters, at(12, 6)) == 1
    channel = slack.channel_id("#social-alerts") or ""
    assert len(slack.messages[channel]) == 1
    assert store.message_ref(incident.id, "slack") is not None


def test_updates_reuse_the_message_and_later_ones_supersede_earlier(
    outbox: Outbox, slack: FakeSlack
) -> None:
    settings, store, alerters = outbox.settings, outbox.store, outbox.alerters
    incident = outbox.incident
    assert deliver(context(store, settings), alerters, at(12, 5)) == 1
    # Three updates pile up while Slack is rate limiting us; only the newest is sent.
    for minute in (6, 7, 8):
        apply(
            context(store, settings),
            Transition(incident, [NotificationKind.UPDATED]),
            at(12, minute),
            "detector",
        )
    slack.fail_next("chat.update", status=429, retry_after=5)
    assert deliver(context(store, settings), alerters, at(12, 8)) == 0
    assert deliver(context(store, settings), alerters, at(12, 9)) == 1
    statuses = [status for _, status in store.notifications(incident.id)]
    assert statuses == ["sent", "superseded", "superseded", "sent"]
    channel = slack.channel_id("#social-alerts") or ""
    assert len(slack.messages[channel]) == 1
    assert len(slack.calls_to("chat.update")) == 2  # the rate-limited try and the real one


def test_a_message_slack_rejects_is_not_retried(outbox: Outbox, slack: FakeSlack) -> None:
    settings, store, alerters = outbox.settings, outbox.store, outbox.alerters
    slack.fail_next("chat.postMessage", status=200, error="msg_too_long")
    assert deliver(context(store, settings), alerters, at(12, 5)) == 0
    assert deliver(context(store, settings), alerters, at(12, 5) + timedelta(hours=1)) == 0
    assert store.notification_counts() == {("slack", "failed"): 1}


def test_an_alert_to_a_channel_the_app_is_not_in_waits_for_the_invite(
    outbox: Outbox, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fail_next("chat.postMessage", status=200, error="not_in_channel", times=2)
    assert outbox.deliver(at(12, 5)) == 0
    assert "/invite" in caplog.text and "ERROR" in caplog.text
    assert outbox.deliver(at(12, 5, 40)) == 0  # still not invited
    assert outbox.store.notification_counts() == {("slack", "pending"): 1}
    # Somebody ran /invite: the next retry (backoff 30 s, then 60 s) posts the alert once.
    assert outbox.deliver(at(12, 7)) == 1
    channel = slack.channel_id("#social-alerts") or ""
    assert len(slack.messages[channel]) == 1
    assert outbox.store.notification_counts() == {("slack", "sent"): 1}


def test_a_revoked_token_holds_every_alert_until_it_works_again(
    outbox: Outbox, slack: FakeSlack
) -> None:
    store = outbox.store
    second = store.save_incident(replace(open_incident_at_noon(), topic="acme"))
    apply(
        context(store, outbox.settings),
        Transition(second, [NotificationKind.OPENED]),
        at(12, 5),
        "detector",
    )
    slack.fail_next("chat.postMessage", status=200, error="token_revoked")
    assert outbox.deliver(at(12, 5)) == 0
    # One call told it the token is wrong: the other alert was not tried, both wait.
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert "slack" in store.rate_limits(at(12, 5, 30))
    assert store.notification_counts() == {("slack", "pending"): 2}
    # The token works again: after the hold and the backoff, both alerts go out.
    assert outbox.deliver(at(12, 7)) == 2
    assert store.notification_counts() == {("slack", "sent"): 2}


def test_console_prints_each_alert_once(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC)
    store = Store(settings.monitor.database)
    store.migrate()
    incident = store.save_incident(open_incident_at_noon(severity=2))
    apply(
        context(store, settings),
        Transition(incident, [NotificationKind.OPENED]),
        at(12, 5),
        "detector",
    )
    out = io.StringIO()
    alerters = {"console": ConsoleAlerter(out)}
    assert deliver(context(store, settings), alerters, at(12, 5)) == 1
    assert deliver(context(store, settings), alerters, at(12, 6)) == 0
    assert out.getvalue().count("incident #1") == 1


def test_a_silence_posts_but_pages_nobody(tmp_path: Path, slack: FakeSlack) -> None:
    settings = slack_settings(tmp_path, slack)
    store = Store(settings.monitor.database)
    store.migrate()
    store.add_silence("acme", at(11), at(14), "Black Friday campaign", "lena")
    open_incident(store, settings)
    topic = settings.topic("acme")
    for minute in range(5, 60, 5):
        escalate(context(store, settings), topic, at(12, minute))
    kinds = [n.kind for n, _ in store.notifications()]
    assert kinds == [NotificationKind.OPENED]
    (notification, _) = store.notifications()[0]
    assert notification.payload["silenced"]["reason"] == "Black Friday campaign"
    escalate(context(store, settings), topic, at(14, 1))  # the silence is over
    assert [n.kind for n, _ in store.notifications()][-1] is NotificationKind.ESCALATED


def test_a_retry_after_longer_than_the_backoff_is_honoured(
    outbox: Outbox, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=600)
    assert outbox.deliver(at(12, 5)) == 0
    # The backoff alone (30 s, then 60 s) would have tried again long before ten minutes.
    for minute, second in ((5, 31), (6, 40), (10, 0), (14, 59)):
        assert outbox.deliver(at(12, minute, second)) == 0
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert outbox.deliver(at(12, 15, 1)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_rate_limit_holds_back_every_notification_of_the_workspace(
    outbox: Outbox, slack: FakeSlack
) -> None:
    settings, store = outbox.settings, outbox.store
    for _ in range(2):  # two more incidents, each with its own "opened" waiting
        open_incident(store, settings)
    slack.fail_next("chat.postMessage", status=429, retry_after=60)
    assert outbox.deliver(at(12, 5)) == 0
    assert outbox.deliver(at(12, 5, 30)) == 0
    # A restart (new connection, new Slack client) still knows about the limit.
    store.close()
    store = Store(settings.monitor.database)
    alerters = build_alerters(settings, io.StringIO(), ENV)
    assert deliver(context(store, settings), alerters, at(12, 5, 59)) == 0
    # Nothing but the one rate-limited call went out inside its Retry-After.
    assert [c.method for c in slack.calls] == ["chat.postMessage"]
    assert deliver(context(store, settings), alerters, at(12, 6, 1)) == 3
    assert len(slack.messages[slack.channel_id("#social-alerts") or ""]) == 3


def test_a_failed_opened_keeps_holding_back_resolved(outbox: Outbox, slack: FakeSlack) -> None:
    settings, store, incident = outbox.settings, outbox.store, outbox.incident
    resolved = replace(
        incident, status=IncidentStatus.RESOLVED, resolved_at=at(12, 6), resolved_by="U7|Kim"
    )
    apply(
        context(store, settings),
        Transition(resolved, [NotificationKind.RESOLVED]),
        at(12, 6),
        "U7|Kim",
    )
    slack.fail_next("chat.postMessage", status=503, times=2)
    for second in (0, 20):
        assert outbox.deliver(at(12, 6, second)) == 0
    # Only the "opened" was tried; "resolved" waited behind it and posted nothing of its own.
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert [status for _, status in store.notifications(incident.id)] == ["pending", "pending"]
    assert outbox.deliver(at(12, 7)) == 0  # the second failure: still held
    assert outbox.deliver(at(12, 10)) == 2
    [message] = slack.messages[slack.channel_id("#social-alerts") or ""]
    assert message.text.startswith("Resolved: acme")


def test_a_chart_upload_that_failed_is_retried_until_it_is_in_the_thread_once(
    tmp_path: Path, slack: FakeSlack
) -> None:
    settings = settings_in(
        tmp_path,
        BASE_SETTINGS,
        f'[slack]\nchannel = "#social-alerts"\napi_url = "{slack.base_url}"\n',
        TOPIC,
    )
    store = Store(settings.monitor.database)
    store.migrate()
    for minute in range(0, 60, 5):  # the series the chart draws
        start = at(11, minute)
        bucket = Bucket("acme", start, start + timedelta(minutes=5), 20, 4 + minute, 10, True)
        store.save_bucket(
            bucket,
            score=0.0,
            anomalous=minute > 40,
            severity=0,
            expected_negative=4.0,
            expected_high=8.0,
            expected_share=0.2,
            reason=None,
        )
    open_incident(store, settings)
    alerters = build_alerters(settings, io.StringIO(), ENV)
    slack.fail_next("files.completeUploadExternal", status=502)
    assert deliver(context(store, settings), alerters, at(12, 5)) == 0
    assert deliver(context(store, settings), alerters, at(12, 6)) == 1
    assert deliver(context(store, settings), alerters, at(12, 30)) == 0
    [message] = slack.messages[slack.channel_id("#social-alerts") or ""]
    assert len(message.files) == 1


def test_the_token_check_waits_out_a_rate_limit_too(tmp_path: Path, slack: FakeSlack) -> None:
    settings = slack_settings(tmp_path, slack)
    store = Store(settings.monitor.database)
    store.migrate()
    store.set_rate_limit("slack", at(12, 6), "chat.postMessage rate limited")
    clock = [at(12, 5, 30)]
    daemon = Daemon(settings, stdout=io.StringIO(), clock=lambda: clock[0], environ=ENV)
    daemon._check_slack()  # a restart inside the Retry-After
    assert not slack.calls_to("auth.test")
    clock[0] = at(12, 6, 1)
    daemon._check_slack()
    assert len(slack.calls_to("auth.test")) == 1


def test_a_token_check_answered_429_holds_back_the_outbox(outbox: Outbox, slack: FakeSlack) -> None:
    daemon = Daemon(outbox.settings, stdout=io.StringIO(), clock=lambda: at(12, 5), environ=ENV)
    slack.fail_next("auth.test", status=429, retry_after=30)
    daemon._check_slack()
    assert outbox.deliver(at(12, 5, 20)) == 0
    assert not slack.calls_to("chat.postMessage")
    assert outbox.deliver(at(12, 5, 31)) == 1
