"""Ingest → buckets → incidents on a driven clock, against a fake Hacker News API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.models import Label, NotificationKind, Readings
from monitor.pipeline.buckets import evaluate
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.pipeline.ingest import Feed, PollOutcome, ingest
from monitor.pipeline.judge import Judged
from monitor.pipeline.prune import prune
from monitor.runtime.assembly import alerter_names, build_source
from monitor.sentiment import build_scorer
from monitor.settings import Settings
from monitor.store import Store
from tests.sources_support import Canned, FakeAPI
from tests.support import ALERTS, BASE_SETTINGS, TOPIC, at, settings_in

HN_SOURCE = """
[[topics.sources]]
type = "hackernews"
interval = "10s"
base_url = "http://hn.test/api/v1/"
"""


def hit(
    object_id: str, created_at: datetime, text: str = "Acme is awful, I hate it"
) -> dict[str, Any]:
    return {
        "objectID": object_id,
        "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_at_i": int(created_at.timestamp()),
        "author": "someone",
        "comment_text": f"<p>{text}</p>",
        "story_id": 1,
        "_tags": ["comment"],
    }


def page(*hits: dict[str, Any]) -> Canned:
    return Canned.json({"hits": list(hits), "nbPages": 1, "page": 0, "hitsPerPage": 100})


class World:
    """A monitor with one topic watched by Hacker News, a store and a driven clock."""

    def __init__(self, folder: Path, alerts: str = ALERTS, sentiment: str = "") -> None:
        self.settings: Settings = settings_in(
            folder, BASE_SETTINGS, alerts, sentiment, TOPIC, HN_SOURCE
        )
        self.topic = self.settings.topics[0]
        self.store = Store(self.settings.monitor.database)
        self.store.migrate()
        self.requests: list[object] = []
        self.source_settings = self.topic.sources[0]
        self.source = build_source(self.topic, self.source_settings)
        self.scorer = build_scorer(self.settings.sentiment, self.topic.languages)
        self.detectors = Detectors(self.settings)
        self.context = Context(self.store, self.settings, tuple(alerter_names(self.settings, {})))

    def poll(self, now: datetime, answer: Canned) -> PollOutcome:
        """One scheduled poll at ``now``; the fake API gives ``answer`` to every request."""
        api = FakeAPI()
        api.add("GET", "/api/v1/search_by_date", answer)
        with httpx.Client(transport=api.transport(), base_url="http://hn.test") as client:
            feed = Feed(self.topic, self.source_settings, self.source, client)
            outcome = ingest(self.context, feed, self.scorer, now)
        self.requests += api.requests
        return outcome

    def evaluate(self, now: datetime) -> list[Judged]:
        return evaluate(self.context, self.topic, self.detectors, now)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.store.close()


def test_mentions_are_counted_by_creation_time_including_late_arrivals(world: World) -> None:
    world.poll(at(12, 0, 10), page(hit("1", at(12, 0, 5))))
    # Fetched after the bucket ended, created inside it: it still counts there.
    world.poll(at(12, 1, 5), page(hit("2", at(12, 0, 50)), hit("3", at(12, 1, 2))))
    assert world.evaluate(at(12, 1, 9)) == []  # not yet closed: lateness is 10 s
    (judged,) = world.evaluate(at(12, 1, 10))
    bucket = judged.bucket
    assert (bucket.start_at, bucket.end_at) == (at(12, 0), at(12, 1))
    assert (bucket.volume, bucket.negative, bucket.complete) == (2, 2, True)


def test_ingest_is_idempotent_on_source_and_id(world: World) -> None:
    first = world.poll(at(12, 0, 10), page(hit("1", at(12, 0, 5)), hit("2", at(12, 0, 6))))
    again = world.poll(at(12, 0, 20), page(hit("1", at(12, 0, 5)), hit("2", at(12, 0, 6))))
    assert (first.new, again.new) == (2, 0)
    assert world.store.mention_count("acme") == 2


def test_every_mention_is_scored(world: World) -> None:
    world.poll(at(12, 0, 10), page(hit("1", at(12, 0, 5), "I love Acme, great product!")))
    (stored,) = world.store.mentions("acme", at(12), at(13))
    assert stored.label is Label.POSITIVE and stored.sentiment > 0


def test_a_failed_poll_makes_its_bucket_incomplete(world: World) -> None:
    world.poll(at(12, 0, 10), page(hit("1", at(12, 0, 5))))
    world.poll(at(12, 1, 5), page())
    failed = world.poll(
        at(12, 1, 30),
        Canned(503, b"<html>Service Unavailable</html>", {"content-type": "text/html"}),
    )
    assert not failed.ok and "503" in (failed.error or "")
    world.poll(at(12, 1, 40), page())  # recovers within the same bucket: still a gap
    world.poll(at(12, 2, 5), page())
    judged = world.evaluate(at(12, 2, 30))
    assert [j.bucket.complete for j in judged] == [True, False]
    state = world.store.source_state("acme", "hackernews")
    assert state is not None and state.last_success_at == at(12, 2, 5)


def test_garbage_bodies_are_failed_polls_not_empty_successes(world: World) -> None:
    html = world.poll(
        at(12, 0, 10), Canned(200, b"<html>Gateway</html>", {"content-type": "text/html"})
    )
    wrong = world.poll(at(12, 0, 20), Canned.json({"unexpected": True}))
    assert not html.ok and not wrong.ok
    assert world.store.poll_count("acme", "hackernews", at(12), at(13), ok=False) == 2


def test_buckets_nobody_polled_are_incomplete(world: World) -> None:
    world.poll(at(12, 0, 10), page())
    # The daemon was down from 12:00:10 to 12:04:05; its next poll catches up with its
    # cursor, but the buckets it did not see end are gaps, not calm.
    world.poll(at(12, 4, 5), page(hit("9", at(12, 2, 30))))
    judged = world.evaluate(at(12, 4, 20))
    assert [(j.bucket.start_at.minute, j.bucket.complete) for j in judged] == [
        (0, False),
        (1, False),
        (2, False),
        (3, True),
    ]


def test_a_bucket_waits_for_a_source_that_has_not_polled_past_it(world: World) -> None:
    world.poll(at(12, 0, 10), page())
    # Past lateness, but within lateness + interval: the next poll may still bring mentions.
    assert world.evaluate(at(12, 1, 15)) == []
    world.poll(at(12, 1, 16), page(hit("1", at(12, 0, 59))))
    (judged,) = world.evaluate(at(12, 1, 17))
    assert judged.bucket.volume == 1 and judged.bucket.complete


def test_rate_limited_source_backs_off_until_retry_after(world: World) -> None:
    limited = world.poll(at(12, 0, 10), Canned(429, b"slow down", {"retry-after": "120"}))
    assert not limited.ok
    skipped = world.poll(at(12, 1, 0), page(hit("1", at(12, 0, 30))))
    assert skipped.skipped_backoff and len(world.requests) == 1
    resumed = world.poll(at(12, 2, 11), page(hit("1", at(12, 0, 30))))
    assert resumed.ok and resumed.new == 1


def test_a_source_blind_for_too_long_says_so_once_and_then_all_clear(tmp_path: Path) -> None:
    world = World(tmp_path, ALERTS + 'blind_after = "5m"\n')
    down = Canned(500, b"oops")
    for minute in range(0, 7):
        world.poll(at(12, minute, 10), down)
    world.poll(at(12, 7, 10), page())
    world.poll(at(12, 8, 10), page())
    kinds = [n.kind for n, _ in world.store.notifications()]
    assert kinds == [NotificationKind.SOURCE_DOWN, NotificationKind.SOURCE_UP]
    down_note = world.store.notifications()[0][0]
    assert "500" in down_note.payload["error"] and down_note.payload["source"] == "hackernews"
    assert down_note.created_at == at(12, 5, 10)


def test_retention_deletes_old_mentions_but_keeps_buckets(world: World) -> None:
    world.poll(at(12, 0, 10), page(hit("1", at(12, 0, 5))))
    world.evaluate(at(12, 1, 30))
    prune(world.context, at(12) + timedelta(days=91))
    assert world.store.mention_count("acme") == 0
    assert len(world.store.buckets("acme")) == 1


MIXED = [
    "Acme is awful, I hate it",
    "Acme support never answers, what a joke",
    "I love Acme, great product!",
    "Acme opens a new store on Monday",
    "not sure what to think of the new Acme phone",
]


def poll_mixed_bucket(world: World) -> Judged:
    hits = [hit(str(n), at(12, 0, 5 + n), text) for n, text in enumerate(MIXED)]
    world.poll(at(12, 0, 3), page())  # the first poll: buckets begin here
    world.poll(at(12, 1, 5), page(*hits))
    (judged,) = world.evaluate(at(12, 1, 10))
    return judged


def test_a_bucket_sums_the_trained_scorers_probabilities_of_its_mentions(world: World) -> None:
    bucket = poll_mixed_bucket(world).bucket
    stored = world.store.mentions("acme", at(12), at(12, 1))
    verdicts = [world.scorer.score(m.mention.text, m.mention.lang) for m in stored]
    # Each mention keeps the probabilities the scorer gave it ...
    assert [(m.p_negative, m.p_neutral) for m in stored] == [
        (v.p_negative, v.p_neutral) for v in verdicts
    ]
    assert all(v.probabilities is not None for v in verdicts)
    # ... and the bucket carries their sums, squares and products for the detector.
    negative = [v.p_negative for v in verdicts]
    neutral = [v.p_neutral for v in verdicts]
    expected = Readings(
        sum(negative),
        sum(neutral),
        sum(p * p for p in negative),
        sum(p * p for p in neutral),
        sum(n * u for n, u in zip(negative, neutral, strict=True)),
    )
    assert bucket.readings is not None
    for field in ("negative", "neutral", "negative_sq", "neutral_sq", "cross"):
        assert getattr(bucket.readings, field) == pytest.approx(getattr(expected, field)), field
    # Not the label counts: a mention is only so sure of its label.
    neutral_count = bucket.volume - bucket.negative - bucket.positive
    assert bucket.volume == 5
    assert bucket.readings.negative != bucket.negative
    assert bucket.readings.negative_sq < bucket.readings.negative
    assert bucket.readings.neutral != neutral_count


def test_a_stored_bucket_reads_back_with_its_readings(world: World) -> None:
    judged = poll_mixed_bucket(world)
    (stored,) = world.store.buckets("acme")
    assert stored.bucket == judged.bucket and stored.bucket.readings is not None
    # A restarted daemon warms its detector up on the very same sums.
    assert stored.bucket.sums == judged.bucket.readings


def test_a_lexicon_scored_topic_reads_as_its_label_counts(tmp_path: Path) -> None:
    world = World(tmp_path, sentiment='[sentiment]\nbackend = "lexicon"\n')
    try:
        bucket = poll_mixed_bucket(world).bucket
        labels = [m.label for m in world.store.mentions("acme", at(12), at(12, 1))]
        negative, neutral = labels.count(Label.NEGATIVE), labels.count(Label.NEUTRAL)
        assert negative and neutral
        assert bucket.readings == Readings.of_labels(negative, neutral)
        (stored,) = world.store.buckets("acme")
        assert stored.bucket.readings == bucket.readings
    finally:
        world.store.close()


def test_a_bucket_without_mentions_reads_zero(world: World) -> None:
    world.poll(at(12, 0, 3), page())
    world.poll(at(12, 1, 5), page())
    (judged,) = world.evaluate(at(12, 1, 10))
    assert judged.bucket.volume == 0 and judged.bucket.readings == Readings()
