"""Signed and badly signed Slack interaction payloads; button clicks; the allowlist."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from alerts.interactions import (
    Action,
    is_allowed,
    parse_action,
    payload_from_form,
    response_url_of,
    verify_signature,
)
from alerts.slack_blocks import incident_blocks
from tests.fake_slack import sample_payload

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = datetime(2026, 11, 26, 8, 10, tzinfo=UTC)


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def click(action_id: str, value: str = "7", **extra: Any) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a click on one of our buttons."""
    return {
        "type": "block_actions",
        "user": {"id": "U42", "username": "dana", "name": "dana", "team_id": "T1"},
        "team": {"id": "T1"},
        "channel": {"id": "C0ALERTS"},
        "message": {"ts": "1764144000.000001"},
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "x",
                "value": value,
                "action_ts": "1764144600.1",
            }
        ],
        **extra,
    }


BODY = urlencode({"payload": json.dumps(click("shitstorm_acknowledge"))}).encode()
TS = str(int(NOW.timestamp()))


def test_slacks_documented_example_signature_verifies() -> None:
    # The example from Slack's "Verifying requests from Slack" guide.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    at = datetime.fromtimestamp(1531420618, tz=UTC)
    assert verify_signature(SECRET, "1531420618", body, signature, at + timedelta(minutes=4))


def test_a_fresh_good_signature_passes() -> None:
    assert verify_signature(SECRET, TS, BODY, sign(BODY, TS), NOW + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("timestamp", "body", "signature", "now"),
    [
        (TS, BODY, sign(BODY, TS, "wrong-secret"), NOW),  # another app's secret
        (TS, BODY + b"&x=1", sign(BODY, TS), NOW),  # body tampered with
        (TS, BODY, sign(BODY, TS)[:-1] + "0", NOW),  # signature tampered
        (TS, BODY, sign(BODY, TS), NOW + timedelta(minutes=5, seconds=1)),  # stale (replay)
        (TS, BODY, sign(BODY, TS), NOW - timedelta(minutes=6)),  # from the future
        ("", BODY, sign(BODY, ""), NOW),  # no timestamp
        ("99999999999999999999999", BODY, sign(BODY, "99999999999999999999999"), NOW),
        (TS, BODY, "", NOW),  # no signature
        (TS, BODY, "v1=" + sign(BODY, TS)[3:], NOW),  # another scheme
        (TS, BODY, "v0=ünïcode", NOW),
    ],
)
def test_bad_or_stale_signatures_fail(
    timestamp: str, body: bytes, signature: str, now: datetime
) -> None:
    assert not verify_signature(SECRET, timestamp, body, signature, now)


def test_an_empty_secret_never_verifies() -> None:
    assert not verify_signature("", TS, BODY, sign(BODY, TS, ""), NOW)


def test_every_rendered_button_parses_back_to_its_action() -> None:
    blocks = incident_blocks(sample_payload())
    [actions] = [b for b in blocks if b["type"] == "actions"]
    parsed = set()
    for button in actions["elements"]:
        payload = click(button["action_id"], button["value"])
        action = parse_action(payload, NOW)
        assert (action.incident_id, action.user_id, action.user_name, action.at) == (
            7,
            "U42",
            "dana",
            NOW,
        )
        parsed.add(action.action)
    assert parsed == {"acknowledge", "resolve", "not_a_shitstorm", "expected_campaign"}


def test_parse_action_from_a_form_encoded_http_body() -> None:
    payload = payload_from_form(BODY)
    assert parse_action(payload, NOW) == Action(7, "acknowledge", "U42", "dana", NOW)
    assert parse_action(payload, NOW).actor == "U42|dana"
    assert response_url_of(payload) == "https://hooks.slack.com/actions/T1/1/abc"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "view_submission"}, "not a button click"),
        (click("someone_elses_button"), "unknown action_id"),
        (click("shitstorm_resolve", value="seven"), "no incident id"),
        ({**click("shitstorm_resolve"), "user": {}}, "without a user id"),
        ({**click("shitstorm_resolve"), "actions": []}, "without actions"),
    ],
)
def test_other_payloads_are_refused_with_a_reason(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_action(payload, NOW)


def test_bad_http_bodies_are_refused() -> None:
    with pytest.raises(ValueError, match="no 'payload'"):
        payload_from_form(b"token=x")
    with pytest.raises(ValueError, match="not JSON"):
        payload_from_form(b"payload=%7Bnope")


def test_allowlist() -> None:
    assert is_allowed("U1", [], None)  # nothing configured: everyone in the channel
    assert is_allowed("U1", ["U1"], None) and not is_allowed("U2", ["U1"], None)
    assert is_allowed("U3", ["U1"], {"U3"}) and not is_allowed("U4", ["U1"], {"U3"})
    assert not is_allowed("U1", [], set())  # a group whose members are unknown fails closed
