"""A mention is identified by topic, source *and* id: the same id from two sources is two posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from monitor.pipeline.context import Context
from monitor.pipeline.ingest import Feed, ingest
from monitor.runtime.assembly import alerter_names, build_source
from monitor.sentiment import build_scorer
from monitor.store import Store
from tests.sources_support import Canned, FakeAPI
from tests.support import ALERTS, TOPIC, settings_in

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

TWO_SOURCES = """
[[topics.sources]]
type = "hackernews"
name = "hn-main"
base_url = "http://hn-main.test/api/v1/"

[[topics.sources]]
type = "hackernews"
name = "hn-mirror"
base_url = "http://hn-mirror.test/api/v1/"
"""


def page(*ids: str) -> Canned:
    created = NOW - timedelta(minutes=3)
    hits = [
        {
            "objectID": object_id,
            "created_at_i": int(created.timestamp()),
            "comment_text": "Acme is awful, I hate it",
        }
        for object_id in ids
    ]
    return Canned.json({"hits": hits, "nbPages": 1})


def test_the_same_id_from_two_sources_is_stored_as_two_mentions(tmp_path: Path) -> None:
    settings = settings_in(
        tmp_path, f'[monitor]\ndatabase = "{tmp_path / "m.db"}"\n', ALERTS, TOPIC, TWO_SOURCES
    )
    topic = settings.topics[0]
    store = Store(settings.monitor.database)
    store.migrate()
    scorer = build_scorer(settings.sentiment, topic.languages)
    api = FakeAPI()
    # The same item id, twice on one page too: within a source it is one mention.
    api.add("GET", "/api/v1/search_by_date", page("42", "42", "43"))

    context = Context(store, settings, tuple(alerter_names(settings, {})))
    new = []
    with httpx.Client(transport=api.transport()) as client:
        for _ in range(2):  # and polling again stores nothing twice
            for source_settings in topic.sources:
                source = build_source(topic, source_settings)
                feed = Feed(topic, source_settings, source, client)
                outcome = ingest(context, feed, scorer, NOW)
                new.append(outcome.new)

    assert new == [2, 2, 0, 0]
    volume, negative, *_ = store.count("acme", NOW - timedelta(hours=1), NOW)
    assert (volume, negative) == (4, 4)
