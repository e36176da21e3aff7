"""The pure parts of Slack interactivity: verify a request, parse a button click, check who may act.

The lead's HTTP endpoint (``POST /slack/actions``) and :mod:`alerts.socket_mode` both end in
:func:`parse_action`; applying an :class:`Action` to the store is the pipeline's job, so a
click never calls Slack directly and double clicks are resolved where the state lives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, cast
from urllib.parse import parse_qs

from alerts.slack_blocks import ACTION_IDS

ActionName = Literal["acknowledge", "resolve", "not_a_shitstorm", "expected_campaign"]

SIGNATURE_WINDOW: Final = timedelta(minutes=5)
_ACTIONS_BY_ID: Final[Mapping[str, str]] = {v: k for k, v in ACTION_IDS.items()}
# Unix seconds, and an incident id SQLite can hold: ASCII digits of bounded length.
_EPOCH_SECONDS: Final = re.compile(r"[0-9]{1,12}")
_INCIDENT_ID: Final = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Action:
    """A click on one of the incident message's buttons, by whom and when it arrived."""

    incident_id: int
    action: ActionName
    user_id: str
    user_name: str
    at: datetime

    @property
    def actor(self) -> str:
        """``"U123|Name"``: how incidents store who acknowledged or resolved them."""
        return f"{self.user_id}|{self.user_name}"


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, now: datetime
) -> bool:
    """Whether ``body`` was signed by Slack with ``secret`` less than five minutes ago.

    Slack's v0 scheme: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, sent in the
    ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp`` headers. The time window stops
    replays of a captured request; the comparison is constant-time.
    """
    # ASCII digits of a plausible length: str.isdigit() also accepts "²", which int() refuses.
    if not secret or not signature or not _EPOCH_SECONDS.fullmatch(timestamp):
        return False
    if abs(now.timestamp() - int(timestamp)) > SIGNATURE_WINDOW.total_seconds():
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def payload_from_form(body: bytes) -> Mapping[str, Any]:
    """The interaction payload of an HTTP request body (form field ``payload``, JSON)."""
    fields = parse_qs(body.decode("utf-8", "replace"))
    if "payload" not in fields:
        raise ValueError("Slack interaction request has no 'payload' form field")
    try:
        payload = json.loads(fields["payload"][0])
    except RecursionError:
        raise ValueError("Slack interaction payload is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise ValueError(f"Slack interaction payload is not JSON: {error}") from error
    if not isinstance(payload, Mapping):
        raise ValueError("Slack interaction payload is not a JSON object")
    return payload


def parse_action(payload: Mapping[str, Any], now: datetime) -> Action:
    """The button click in a ``block_actions`` payload; ``ValueError`` saying why otherwise."""
    kind = payload.get("type")
    if kind != "block_actions":
        raise ValueError(f"not a button click: interaction type {kind!r}")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise ValueError("block_actions payload without actions")
    ours = [a for a in actions if isinstance(a, Mapping) and a.get("action_id") in _ACTIONS_BY_ID]
    if not ours:
        ids = [a.get("action_id") for a in actions if isinstance(a, Mapping)]
        raise ValueError(f"unknown action_id(s) {ids}: not a shitstorm incident button")
    clicked = ours[0]
    value = str(clicked.get("value") or "")
    if not _INCIDENT_ID.fullmatch(value):
        raise ValueError(f"button {clicked['action_id']} carries no incident id: {value!r}")
    user = payload.get("user")
    if not isinstance(user, Mapping) or not user.get("id"):
        raise ValueError("block_actions payload without a user id")
    user_id = str(user["id"])
    user_name = str(user.get("name") or user.get("username") or user_id)
    return Action(
        incident_id=int(value),
        action=cast(ActionName, _ACTIONS_BY_ID[str(clicked["action_id"])]),
        user_id=user_id,
        user_name=user_name,
        at=now,
    )


def response_url_of(payload: Mapping[str, Any]) -> str | None:
    """Where to send an ephemeral answer to the clicking user (valid for 30 minutes)."""
    url = payload.get("response_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def is_allowed(
    user_id: str,
    allowed_users: Collection[str],
    allowed_group_members: Collection[str] | None,
) -> bool:
    """Whether ``user_id`` may act on incidents.

    No allowlist (no users and no group configured, ``allowed_group_members is None``) lets
    everyone in the channel act. Once either is configured, only listed users and members of
    the group may; an empty member list (group lookup failed) therefore fails closed.
    """
    if not allowed_users and allowed_group_members is None:
        return True
    return user_id in allowed_users or (
        allowed_group_members is not None and user_id in allowed_group_members
    )
