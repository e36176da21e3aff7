"""The fake Slack Web API rejects what real Slack rejects, so passing tests mean something."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fake_slack import FakeSlack
from tests.support import wait_for


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(
        token="xoxb-test", base_url=f"http://127.0.0.1:{slack.port}/api/", retry_handlers=[]
    )


def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.status_code, raised.value.response["error"]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_checks_what_slack_checks(client: WebClient, slack: FakeSlack) -> None:
    post = client.chat_postMessage
    assert error_of(lambda: post(channel="C0ALERTS", blocks=[section("x")])) == (200, "no_text")
    assert error_of(lambda: post(channel="#nope", text="x")) == (200, "channel_not_found")
    assert error_of(lambda: post(channel="C0ALERTS", text="x" * 40_001)) == (200, "msg_too_long")
    for blocks in (
        [section("x")] * 51,
        [section("x" * 3001)],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    ):
        assert error_of(lambda b=blocks: post(channel="C0ALERTS", text="x", blocks=b)) == (
            200,
            "invalid_blocks",
        )
    bad = WebClient(token="xoxb-other", base_url=slack.base_url)
    assert error_of(lambda: bad.chat_postMessage(channel="C0ALERTS", text="x")) == (
        200,
        "invalid_auth",
    )
    # chat.update needs the id that chat.postMessage answered, not the channel name.
    ts = post(channel="#social-alerts", text="x")["ts"]
    assert error_of(lambda: client.chat_update(channel="#social-alerts", ts=ts, text="y")) == (
        200,
        "channel_not_found",
    )
    assert client.chat_update(channel="C0ALERTS", ts=ts, text="y")["ok"]
    assert slack.messages["C0ALERTS"][0].text == "y"
    assert [c.method for c in slack.calls].count("chat.postMessage") == 8


def test_programmed_failures(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    slack.fail_next("chat.postMessage", status=200, error="not_in_channel")

    def post() -> Any:
        return client.chat_postMessage(channel="C0ALERTS", text="x")

    with pytest.raises(SlackApiError) as raised:
        post()
    assert raised.value.response.status_code == 500
    with pytest.raises(SlackApiError):
        post()
    with pytest.raises(SlackApiError) as raised:
        post()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert error_of(post) == (200, "not_in_channel")
    assert post()["ok"] and len(slack.messages["C0ALERTS"]) == 1


def test_threads_history_and_uploads(client: WebClient, slack: FakeSlack) -> None:
    parent = client.chat_postMessage(
        channel="C0ALERTS", text="p", metadata={"event_type": "e", "event_payload": {"id": 1}}
    )
    client.chat_postMessage(channel="C0ALERTS", text="r", thread_ts=parent["ts"])
    client.files_upload_v2(
        channel="C0ALERTS", thread_ts=parent["ts"], content=b"PNG", filename="c.png", title="chart"
    )
    [message] = slack.messages["C0ALERTS"]
    assert [r.text for r in message.replies] == ["r"] and message.files[0]["title"] == "chart"
    plain = client.conversations_history(channel="C0ALERTS")["messages"]
    rich = client.conversations_history(channel="C0ALERTS", include_all_metadata=True)
    assert "metadata" not in plain[0] and rich["messages"][0]["metadata"]["event_type"] == "e"


def test_an_outage_takes_down_every_method_and_calls_inside_retry_after_are_counted(
    client: WebClient, slack: FakeSlack
) -> None:
    slack.outage(status=429, seconds=30, retry_after=30)
    answered: list[str] = []
    slack.after_answer = lambda call: answered.append(call.method)
    for method in ("chat.postMessage", "conversations.history"):
        assert error_of(lambda m=method: client.api_call(m, json={"channel": "C0ALERTS"}))[0] == 429
    [(early, limit)] = slack.calls_inside_retry_after()  # the second came 30 s too early
    assert (early.method, limit.method) == ("conversations.history", "chat.postMessage")
    slack.recover()
    assert client.chat_postMessage(channel="C0ALERTS", text="x")["ok"]
    wait_for(lambda: answered == ["chat.postMessage"])  # told of answers that went through
