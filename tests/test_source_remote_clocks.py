"""Remote clocks are not trusted, and one absurd item costs that item, never the poll.

A platform (or whatever answers in its place) can date an item a year ahead, in 1970, or at
``10**19`` seconds. Such an item is skipped with a count; it never moves a cursor past what was
actually fetched, and the items around it are all read.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.models import Mention
from monitor.pipeline.ingest import MAX_TEXT_CHARS, screen
from monitor.sentiment import build_scorer
from monitor.sentiment.config import SentimentSettings
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.hackernews import HackerNewsSettings, HackerNewsSource
from monitor.sources.reddit import RedditSettings, RedditSource
from monitor.sources.rss import FeedSettings, FeedSource
from monitor.sources.x import XSettings, XSource
from monitor.sources.youtube import YouTubeSettings, YouTubeSource
from tests.sources_support import Canned, FakeAPI, load_json, one_source, payload_path

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
YEAR = 365 * 86400
TOPIC = TopicTerms(name="acme", terms=["Acme"], languages=["en"])


def hit(
    object_id: int, created_at_i: Any, text: str = "Acme broke my build again"
) -> dict[str, Any]:
    return {
        "objectID": str(object_id),
        "created_at_i": created_at_i,
        "comment_text": text,
        "author": "someone",
    }


class FakeAlgolia:
    """Answers ``search_by_date`` from a list of hits, honouring ``created_at_i`` filters."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        lower, upper = -(2**63), 2**63
        for clause in request.url.params["numericFilters"].split(","):
            if clause.startswith("created_at_i>"):
                lower = int(clause.removeprefix("created_at_i>"))
            elif clause.startswith("created_at_i<="):
                upper = int(clause.removeprefix("created_at_i<="))
        found = [h for h in self.hits if lower < h["created_at_i"] <= upper]
        found.sort(key=lambda h: -h["created_at_i"])
        return httpx.Response(200, json={"hits": found, "nbPages": 1})


def test_one_item_dated_a_year_ahead_does_not_hide_the_next_ones() -> None:
    """The issue's case: one HN item a year ahead made 71 of the next 75 items never fetched."""
    algolia = FakeAlgolia()
    now = int(NOW.timestamp())
    algolia.hits = [hit(1, now + YEAR), hit(2, now - 600), hit(3, now - 300)]
    source = HackerNewsSource(
        HackerNewsSettings(type="hackernews", base_url="https://hn.test/api/v1/"), TOPIC
    )
    cursor = None
    fetched: set[str] = set()
    with httpx.Client(transport=httpx.MockTransport(algolia.handle)) as client:
        for minute in range(75):
            at = NOW + timedelta(minutes=minute)
            algolia.hits.append(hit(100 + minute, int(at.timestamp()) - 20))
            result = source.poll(client, cursor, at)
            cursor = result.cursor
            fetched |= {m.id for m in result.mentions}

    assert {str(100 + minute) for minute in range(75)} <= fetched
    since = json.loads(cursor or "")["terms"]["Acme"]["since"]
    assert since <= int((NOW + timedelta(minutes=74)).timestamp())


def test_a_cursor_pushed_into_the_future_before_the_fix_heals_on_the_next_poll() -> None:
    algolia = FakeAlgolia()
    now = int(NOW.timestamp())
    algolia.hits = [hit(1, now - 30)]
    poisoned = json.dumps({"terms": {"Acme": {"since": now + YEAR}}})
    source = HackerNewsSource(
        HackerNewsSettings(type="hackernews", base_url="https://hn.test/api/v1/"), TOPIC
    )
    with httpx.Client(transport=httpx.MockTransport(algolia.handle)) as client:
        result = source.poll(client, poisoned, NOW)
    assert [m.id for m in result.mentions] == ["1"]


@pytest.mark.usefixtures("reddit_credentials")
def test_a_reddit_position_in_the_future_heals_too() -> None:
    page = load_json("reddit", "search_page1.json")
    api, source = reddit_serving(page)
    poisoned = json.dumps({"posts": {"newest": NOW.timestamp() + YEAR}})
    with api.client() as client:
        fresh = source.poll(client, None, NOW)
        healed = source.poll(client, poisoned, NOW)
    # Read again from the lookback, as a first poll would, instead of "all known".
    assert healed.mentions and [m.id for m in healed.mentions] == [m.id for m in fresh.mentions]


@pytest.mark.parametrize(
    "bad",
    [
        hit(9, 10**19),  # OverflowError in datetime.fromtimestamp
        hit(9, -(10**19)),
        {"objectID": ["not", "an", "id"], "created_at_i": 1795677300, "comment_text": "x"},
        {"objectID": "9", "created_at": {"nested": True}, "comment_text": "Acme"},
        {"objectID": "9", "created_at_i": 1795677300, "comment_text": 12},
        "not even an object",
        None,
    ],
)
def test_one_absurd_hit_is_skipped_and_counted_not_the_poll(bad: Any) -> None:
    page = load_json("hackernews", "page1.json")
    page["hits"].insert(1, bad)
    page["nbPages"] = 1
    api = FakeAPI()
    api.add("GET", "/api/v1/search_by_date", Canned.json(page))
    source = HackerNewsSource(
        HackerNewsSettings(type="hackernews", base_url="https://hn.test/api/v1/"), TOPIC
    )
    with api.client() as client:
        result = source.poll(client, None, NOW)

    assert len(result.mentions) == len(page["hits"]) - 1
    assert result.skipped == 1
    assert json.loads(result.cursor or "")["terms"]["Acme"]["since"] <= int(NOW.timestamp())


def reddit_serving(page: dict[str, Any]) -> tuple[FakeAPI, RedditSource]:
    """A fake Reddit answering every search with ``page`` (one page), and a source for it."""
    page["data"]["after"] = None
    api = FakeAPI()
    api.add("POST", "/api/v1/access_token", Canned.payload("reddit", "token.json"))
    api.add("GET", "/search", Canned.json(page))
    settings = RedditSettings(
        type="reddit",
        base_url="https://oauth.reddit.test/",
        auth_url="https://www.reddit.test/api/v1/access_token",
    )
    return api, RedditSource(settings, TOPIC)


@pytest.fixture
def reddit_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")


@pytest.mark.usefixtures("reddit_credentials")
@pytest.mark.parametrize("created", [1e19, "inf", NOW.timestamp() + YEAR, 0])
def test_reddit_items_with_absurd_times_neither_fail_nor_stop_the_listing(created: Any) -> None:
    page = load_json("reddit", "search_page1.json")
    children = page["data"]["children"]
    children[0]["data"]["created_utc"] = created
    api, source = reddit_serving(page)
    with api.client() as client:
        result = source.poll(client, None, NOW)

    # The rest of the page is read, and no position lies beyond now.
    assert len(result.mentions) >= len(children) - 1
    newest = json.loads(result.cursor or "")["posts"]["newest"]
    assert newest <= NOW.timestamp()


@pytest.mark.parametrize(
    "published", ["2027-11-26T08:00:00Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z"]
)
def test_youtube_comments_with_absurd_times_do_not_move_the_position(
    monkeypatch: pytest.MonkeyPatch, published: str
) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", "key")
    page = load_json("youtube", "threads_page2.json")
    page["items"][0]["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = published
    page.pop("nextPageToken")
    api = FakeAPI()
    api.add("GET", "/youtube/v3/commentThreads", Canned.json(page))
    settings = YouTubeSettings(
        type="youtube", base_url="https://youtube.test/youtube/v3/", video_ids=["kJ8xQ2mN4pA"]
    )
    with api.client() as client:
        result = YouTubeSource(settings, TOPIC).poll(client, None, NOW)

    (position,) = json.loads(result.cursor or "")["threads"].values()
    assert position["newest"] == "2026-11-26T06:45:00+00:00"  # the other comment's time
    # The misdated comment is handed on (the pipeline drops it); the walk went past it.
    assert len(result.mentions) == 1


def test_x_ignores_a_newest_id_from_the_future(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "token")
    page = load_json("x", "search_page2.json")
    page["meta"]["newest_id"] = "9" * 30  # a snowflake far beyond any calendar
    page["meta"].pop("next_token", None)
    api = FakeAPI()
    api.add("GET", "/2/tweets/search/recent", Canned.json(page))
    source = XSource(XSettings(type="x", base_url="https://api.x.test/", counts=False), TOPIC)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert "9" * 30 not in (first.cursor or "")
    assert second.mentions  # the next poll still works (no overflow from the cursor)


def test_rss_entries_dated_beyond_belief_count_when_first_seen() -> None:
    feed = payload_path("rss", "google_news.rss").read_text(encoding="utf-8")
    first_date = feed.split("<pubDate>")[1].split("</pubDate>")[0]
    feed = feed.replace(first_date, "Sat, 26 Nov 2099 08:00:00 GMT", 1)
    api = FakeAPI()
    api.add(
        "GET", "/rss/search", Canned(200, feed.encode(), {"content-type": "application/rss+xml"})
    )
    source = FeedSource(FeedSettings(type="rss", url="https://news.test/rss/search"), TOPIC)
    with api.client() as client:
        result = source.poll(client, None, NOW)

    assert all(m.created_at <= NOW for m in result.mentions)
    assert NOW in {m.created_at for m in result.mentions}


def mention(created_at: datetime, text: str = "Acme is down again, terrible") -> Mention:
    return Mention(
        source="hackernews", id=str(created_at.timestamp()), created_at=created_at, text=text
    )


def test_the_pipeline_stores_no_mention_dated_beyond_belief() -> None:
    kept, dropped = screen(
        [
            mention(NOW - timedelta(minutes=3)),
            mention(NOW + timedelta(minutes=2)),  # within the allowed skew
            mention(NOW + timedelta(days=365)),
            mention(datetime(1970, 1, 1, tzinfo=UTC)),
        ],
        NOW,
    )
    assert [m.created_at for m in kept] == [NOW - timedelta(minutes=3), NOW + timedelta(minutes=2)]
    assert dropped == 2


def test_ingest_logs_the_misdated_items_once_with_the_source_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    algolia = FakeAlgolia()
    now = int(NOW.timestamp())
    algolia.hits = [hit(1, now + YEAR), hit(2, now + 2 * YEAR), hit(3, now - 60)]
    rig = one_source(tmp_path, {"type": "hackernews", "base_url": "https://hn.test/api/v1/"})
    with (
        httpx.Client(transport=httpx.MockTransport(algolia.handle)) as client,
        caplog.at_level(logging.WARNING, "monitor.pipeline"),
    ):
        outcome = rig.ingest(client, NOW)

    assert outcome.ok and outcome.new == 1 and outcome.skipped == 2
    warnings = [r.getMessage() for r in caplog.records if "remote clock" in r.getMessage()]
    assert warnings == [
        "acme/hackernews: skipped 2 items dated after now + 0:05:00 or before 2000-01-01 "
        "(remote clock not trusted)"
    ]


def test_a_huge_text_is_stored_capped_and_marked_and_scores_fast() -> None:
    text = "Acme lost my data. " * 110_000  # ~2 MiB
    (capped,), _ = screen([mention(NOW, text)], NOW)
    assert len(capped.text) < MAX_TEXT_CHARS + 100
    assert capped.text.startswith("Acme lost my data.")
    assert capped.text.endswith(f"[…shortened, {len(text):,} characters in all]")
    scorer = build_scorer(SentimentSettings(), ["en"])
    assert scorer.score(capped.text, "en").label.value == "negative"


def test_a_source_error_still_names_the_source() -> None:
    """Unchanged: garbage is a SourceError with the source's name, not a crash."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>maintenance</html>")

    source = HackerNewsSource(
        HackerNewsSettings(type="hackernews", base_url="https://hn.test/api/v1/"), TOPIC
    )
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(SourceError) as caught,
    ):
        source.poll(client, None, NOW)
    assert caught.value.source == "hackernews"
