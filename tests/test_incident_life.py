"""One incident's whole life, as the channel sees it: the real pipeline on a simulated clock
posts to the fake Slack through the real ``WebClient``, and the console prints the same story.

Open → severity up → escalated → easing → acknowledged → resolved: at each stage the Slack
message (re-rendered in place) and the console block must say what is true at that moment.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.base import Alerter
from alerts.formatting import severity_label
from alerts.incidents import acknowledge
from monitor.models import Notification
from monitor.offline.replay import read_recording, replay
from monitor.pipeline.context import Context
from monitor.pipeline.notify import apply
from monitor.pipeline.outbox import deliver
from monitor.runtime.assembly import build_alerters
from monitor.settings import Settings
from monitor.store import Store
from tests.fake_slack import FakeMessage, FakeSlack, block_kit_problem
from tests.support import BASE_SETTINGS, TOPIC, at, settings_in

START = at(9)  # 10:00 CET on a Monday in March (Europe/Berlin is UTC+1 then)
STORM_AT = 150  # minutes after START
STORM_TEXTS = [
    "Acme sold our data, this is a disgrace #acmegate",
    "I am deleting my Acme account, they sold customer data to advertisers",
    "So Acme just admits selling our data? Unbelievable #acmegate",
    "Acme, how dare you sell my data. Refund my subscription!",
]
COPIED = "Boycott Acme now, they sold our data #acmegate"  # copied by many accounts


@dataclass
class Seen:
    """What one notification made the channel and the console show."""

    kind: str
    at: datetime
    header: str
    slack: str
    console: str


@dataclass
class Recorder:
    """Sends through the real alerters and notes, per notification, what the channel shows."""

    fake: FakeSlack
    alerters: dict[str, Alerter]
    console_out: io.StringIO
    seen: list[Seen] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    _printed: int = 0

    def as_alerters(self) -> dict[str, Alerter]:
        return {name: _Noting(self, alerter) for name, alerter in self.alerters.items()}

    def note(self, notification: Notification) -> None:
        if notification.alerter == "console":
            printed = self.console_out.getvalue()[self._printed :]
            self._printed = len(self.console_out.getvalue())
            self.console.append((notification.kind.value, printed))
            return
        [message] = self.fake.messages["C0ALERTS"]
        assert block_kit_problem(message.blocks) is None
        self.seen.append(
            Seen(
                notification.kind.value,
                notification.created_at,
                message.blocks[0]["text"]["text"],
                _text(message),
                "",
            )
        )

    def stage(self, kind: str, nth: int = 0) -> Seen:
        """The ``nth`` notification of ``kind``, with what the console printed for it."""
        matching = [s for s in self.seen if s.kind == kind]
        assert len(matching) > nth, f"no {kind} #{nth}: {[s.kind for s in self.seen]}"
        printed = [text for k, text in self.console if k == kind]
        matching[nth].console = printed[nth] if len(printed) > nth else ""
        return matching[nth]


@dataclass
class _Noting:
    recorder: Recorder
    inner: Alerter
    name: str = field(init=False)  # the inner alerter's: notifications are routed by it

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def send(
        self, notification: Notification, message_ref: str | None, *, retrying: bool
    ) -> str | None:
        ref = self.inner.send(notification, message_ref, retrying=retrying)
        self.recorder.note(notification)
        return ref


def _text(message: FakeMessage) -> str:
    """Everything a reader sees in the message: every text in its blocks, in order."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for key, value in node.items():
                if key != "confirm":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks)
    return "\n".join(texts)


def storm_lines() -> list[dict[str, Any]]:
    """Three calm hours of chatter, then a storm that builds, peaks, eases and stops."""
    # Negative posts per minute from STORM_AT on: a build-up, a peak, a long tail, then calm.
    shape = [6, 10, 16, 24, 30, 30, 30, 24, 16, 10, 8, 6, 6, 5, 5, 4, 4, 4, 3, 3, 3]
    lines = []
    number = 0
    for minute in range(STORM_AT + len(shape) + 90):
        storm = shape[minute - STORM_AT] if STORM_AT <= minute < STORM_AT + len(shape) else 0
        calm_negative = 1 if minute % 5 == 0 else 0
        texts = (
            ["I like Acme, really nice product"] * 3
            + ["Acme support is slow today, annoying"] * calm_negative
            + ["Acme ships version 2.3 on Tuesday"] * 4
        )
        texts += [
            COPIED if i % 3 == 0 else STORM_TEXTS[(minute + i) % len(STORM_TEXTS)]
            for i in range(storm)
        ]
        for index, text in enumerate(texts):
            number += 1
            lines.append(
                {
                    "id": str(number),
                    "source": "hackernews",
                    "lang": "en",
                    "text": text,
                    "author": f"user{number % 23}",
                    "created_at": (
                        START + timedelta(minutes=minute, seconds=index % 60)
                    ).isoformat(),
                }
            )
    return lines


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def life_settings(folder: Path, slack: FakeSlack) -> Settings:
    return settings_in(
        folder,
        # Three hours of history and one-minute buckets: a topic that wants to hear early.
        BASE_SETTINGS.replace(
            'lateness = "10s"', 'lateness = "10s"\ntimezone = "Europe/Berlin"'
        ).replace('warmup = "1h"', 'warmup = "1h"\nsensitivity = "more"'),
        '[alerts]\nconsole = "on"\nescalate_after = "3m"\nmax_escalations = 2\n'
        'resolve_after = "15m"\n',
        f'[slack]\nchannel = "#social-alerts"\napi_url = "{slack.base_url}"\n'
        'oncall = ["S0ONCALL"]\nupload_charts = false\n',
        TOPIC,
    )


def live_through(tmp_path: Path, slack: FakeSlack, ack_after: timedelta) -> Recorder:
    """Replay the storm; ``ack_after`` past its start Dana acknowledges it, as her click on
    the Slack button does (``monitor.pipeline.notify.apply``), and the replay goes on."""
    settings = life_settings(tmp_path, slack)
    store = Store(settings.monitor.database)
    store.migrate()
    out = io.StringIO()
    recorder = Recorder(
        slack, build_alerters(settings, out, {"SLACK_BOT_TOKEN": slack.bot_token}), out
    )
    alerters = recorder.as_alerters()
    lines = [json.dumps(line) for line in storm_lines()]
    ack_at = START + timedelta(minutes=STORM_AT) + ack_after
    before = [line for line in lines if json.loads(line)["created_at"] < ack_at.isoformat()]
    replay(read_recording(before, settings), store, settings, alerters)
    incident = store.active_incident("acme")
    assert incident is not None, "the storm opened no incident"
    now = ack_at + timedelta(seconds=20)
    context = Context(store, settings, tuple(alerters))  # the replay's own
    apply(context, acknowledge(incident, "U0DANA|Dana", now), now, "U0DANA|Dana")
    deliver(context, alerters, now)
    replay(read_recording(lines[len(before) :], settings), store, settings, alerters)
    return recorder


def test_the_message_stays_right_through_the_incident_life(
    tmp_path: Path, slack: FakeSlack
) -> None:
    life = live_through(tmp_path, slack, ack_after=timedelta(minutes=25))
    kinds = [s.kind for s in life.seen]
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    assert {"severity_up", "escalated", "acknowledged"} <= set(kinds)

    opened = life.stage("opened")
    assert re.fullmatch(r"🟡 Shitstorm on acme — [1-6]/6 [a-z ]+", opened.header), opened.header
    why_then = _line(opened.slack, "Why it opened")
    found = re.match(r"\*Why it opened \(12:(3\d) CET\):\* \d+ negative mentions", why_then)
    assert found, why_then
    # Paged again every escalate_after (3 min) from the opening.
    first_page, second_page = (f"12:{int(found.group(1)) + n:02d}" for n in (3, 6))
    assert "*Now (" not in opened.slack  # the same moment: said once
    assert (
        "Acknowledge to stop the paging: until someone does, <!subteam^S0ONCALL> is paged "
        f"again at {first_page} CET (escalation 1 of 2)."
    ) in opened.slack
    assert "Severity 0–6: 1 unusual chatter" in opened.slack
    assert "UTC" not in opened.slack and "UTC" not in opened.console
    assert re.search(r"\*× \d+\* · user\d+", opened.slack)  # the copied text, once, with its count

    up = life.stage("severity_up")
    assert _line(up.slack, "Why it opened") == why_then  # the opening evidence stays
    assert re.search(
        r"\*Now \(12:3\d CET\):\* \d+ negative posts in the last 15 min vs "
        r"[\d.]+ expected",
        up.slack,
    )

    first, last = life.stage("escalated"), life.stage("escalated", 1)
    assert "Escalated 1×" in first.slack and "(escalation 2 of 2)" in first.slack
    assert "Escalated 2×" in last.slack and "no more pages will be sent" in last.slack
    pages = [r.text for r in slack.messages["C0ALERTS"][0].replies if r.reply_broadcast]
    assert len(pages) == 2 and pages[0].startswith("📣 <!subteam^S0ONCALL> *Still not ackn")
    assert f"<!subteam^S0ONCALL> is paged again at {second_page} CET" in pages[0]

    peak = max(int(s.header.split("/6")[0][-1]) for s in life.seen)
    acked = life.stage("acknowledged")
    assert f"peaked {peak}/6" in acked.header and " · now " in acked.header
    assert acked.header.endswith(", easing") and "calm" not in acked.header
    assert _line(acked.slack, "Why it opened") == why_then
    assert "*Now (12:55 CET):*" in acked.slack
    assert "Acknowledged by <@U0DANA> at 12:55 CET" in acked.slack
    assert "nobody is paged for it any more" in acked.slack
    assert "Acknowledge to stop the paging" not in acked.slack
    later = [s for s in life.seen if s.kind == "updated" and s.at > acked.at]
    assert any(s.header.endswith("· now back to usual") for s in later)

    resolved = life.stage("resolved")
    assert resolved.header == f"✅ Resolved: acme — peaked {severity_label(peak)}"
    assert _line(resolved.slack, "Why it opened") == why_then
    assert "*Lasted " in resolved.slack and "Resolved by auto at 13:" in resolved.slack
    assert "*Now (" not in resolved.slack and "paged" not in resolved.slack

    # The console prints the same story in the same words at the same moments.
    for seen in (opened, up, first, acked, resolved):
        flat = " ".join(seen.console.split())
        assert seen.header.split(" ", 1)[1] in flat, seen.kind
        assert why_then.replace("*", "") in flat, seen.kind
    assert f"@S0ONCALL is paged again at {first_page} CET (escalation 1 of 2)" in " ".join(
        opened.console.split()
    )
    assert "acknowledged by Dana at 12:55 CET" in acked.console
    assert "Lasted " in resolved.console


def _line(text: str, label: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(f"*{label}")), "")


def test_a_topic_with_its_own_time_zone_is_told_in_it(tmp_path: Path) -> None:
    from alerts.report import incident_payload
    from alerts.slack_blocks import incident_blocks
    from tests.support import open_incident_at_noon

    settings = settings_in(
        tmp_path,
        BASE_SETTINGS.replace('lateness = "10s"', 'lateness = "10s"\ntimezone = "Europe/Berlin"'),
        TOPIC.replace('languages = ["en"]', 'languages = ["en"]\ntimezone = "America/New_York"'),
    )
    store = Store(settings.monitor.database)
    store.migrate()
    incident = store.save_incident(open_incident_at_noon())
    payload = incident_payload(store, settings, settings.topic("acme"), incident, at(12, 5))
    assert payload["timezone"] == "America/New_York"
    text = json.dumps(incident_blocks(payload), ensure_ascii=False)
    assert "Mon 02 Mar 07:00 EST" in text and "CET" not in text and "UTC" not in text
