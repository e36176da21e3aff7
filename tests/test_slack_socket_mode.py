"""Socket Mode round trip: apps.connections.open on the fake Web API, envelopes over a local
WebSocket, acks back, clicks handed to on_action, errors shown to the user ephemerally."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from alerts.interactions import Action
from alerts.socket_mode import FAILED_TEXT, SocketModeListener
from tests.fake_slack import FakeSlack, FakeSocketMode
from tests.support import wait_for

NOW = datetime(2026, 11, 26, 8, 10, tzinfo=UTC)


@dataclass
class Session:
    """One connected listener shared by the module: slack_sdk's close() takes ~3 s of joins."""

    slack: FakeSlack
    socket: FakeSocketMode
    received: queue.Queue[Action] = field(default_factory=queue.Queue)
    answer: Callable[[Action], str | None] = lambda action: None

    def on_action(self, action: Action) -> str | None:
        self.received.put(action)
        return self.answer(action)

    def click(self, action_id: str = "shitstorm_acknowledge") -> str:
        return self.socket.push(
            {
                "type": "block_actions",
                "user": {"id": "U42", "username": "dana", "name": "dana"},
                "response_url": self.slack.response_url,
                "actions": [{"type": "button", "action_id": action_id, "value": "7"}],
            }
        )


@pytest.fixture(scope="module")
def connected() -> Iterator[Session]:
    with FakeSlack() as slack, FakeSocketMode() as socket:
        slack.socket_url = socket.url
        session = Session(slack, socket)
        web = WebClient(base_url=slack.base_url)
        with SocketModeListener("xapp-test", session.on_action, clock=lambda: NOW, web_client=web):
            yield session


@pytest.fixture
def session(connected: Session) -> Session:
    connected.answer = lambda action: None
    connected.slack.responses.clear()
    while not connected.received.empty():
        connected.received.get_nowait()
    return connected


def test_a_click_is_acked_parsed_and_handed_over(session: Session) -> None:
    envelope_id = session.click()
    assert session.socket.wait_ack() == {"envelope_id": envelope_id}
    assert session.received.get(timeout=5) == Action(7, "acknowledge", "U42", "dana", NOW)
    opened = session.slack.calls_to("apps.connections.open")
    assert [call.token for call in opened] == ["xapp-test"]
    assert session.slack.responses == []  # success needs no answer: the message updates


def test_a_refusal_reaches_the_user_ephemerally(session: Session) -> None:
    session.answer = lambda action: "You are not on the on-call list."
    session.click("shitstorm_resolve")
    session.socket.wait_ack()
    assert session.received.get(timeout=5).action == "resolve"
    wait_for(lambda: bool(session.slack.responses))
    assert session.slack.responses == [
        {
            "text": "You are not on the on-call list.",
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]


def test_a_crashing_handler_still_answers_the_user(session: Session) -> None:
    def crash(action: Action) -> str | None:
        raise RuntimeError("database is locked")

    session.answer = crash
    session.click()
    session.socket.wait_ack()
    wait_for(lambda: bool(session.slack.responses))
    assert session.slack.responses[0]["text"] == FAILED_TEXT


def test_other_envelopes_are_acked_and_ignored(session: Session) -> None:
    first = session.socket.push(
        {"type": "event_callback", "event": {"type": "message"}}, type="events_api"
    )
    second = session.socket.push(
        {
            "type": "block_actions",
            "user": {"id": "U1"},
            "actions": [{"action_id": "other_button", "value": "1"}],
        }
    )
    acked = {session.socket.wait_ack()["envelope_id"], session.socket.wait_ack()["envelope_id"]}
    assert acked == {first, second}
    session.click("shitstorm_expected_campaign")  # a real click behind them comes through alone
    assert session.received.get(timeout=5).action == "expected_campaign"
    assert session.received.empty()


def test_reconnects_when_slack_asks_and_keeps_receiving(session: Session) -> None:
    before = len(session.slack.calls_to("apps.connections.open"))
    sessions = session.socket.sessions
    session.socket.disconnect()
    session.socket.wait_sessions(sessions + 1)
    assert len(session.slack.calls_to("apps.connections.open")) == before + 1
    session.click("shitstorm_not_a_shitstorm")
    assert session.received.get(timeout=5).action == "not_a_shitstorm"


def test_a_wrong_app_token_fails_to_connect() -> None:
    with FakeSlack() as slack:
        listener = SocketModeListener(
            "xapp-wrong",
            lambda action: None,
            clock=lambda: NOW,
            web_client=WebClient(base_url=slack.base_url),
        )
        with pytest.raises(ConnectionError, match="invalid_auth"):
            listener.connect()
        threading.Thread(target=listener.close, daemon=True).start()  # joins take ~1 s
