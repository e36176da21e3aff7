"""RSS/Atom source against recorded Google Alerts and Google News feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.rss import FeedSettings, FeedSource
from tests.sources_support import Canned, FakeAPI, payload_path

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOPIC = TopicTerms(name="acme", terms=["Acme"])
NEWS_URL = "https://news.google.test/rss/search?q=Acme&hl=de"
ALERTS_URL = "https://www.google.test/alerts/feeds/06807031914929345698/10604166159629661594"
FEED_HEADERS = {"ETag": 'W/"feed-v1"', "Last-Modified": "Thu, 26 Nov 2026 07:57:31 GMT"}


def make_source(url: str = NEWS_URL, **overrides: Any) -> FeedSource:
    overrides.setdefault("lookback", timedelta(hours=2))
    return FeedSource(FeedSettings(type="rss", url=url, **overrides), TOPIC)


def news_api(*responses: Canned) -> FakeAPI:
    api = FakeAPI()
    api.add("GET", "/rss/search", *responses)
    return api


def test_registry_names_this_class() -> None:
    assert source_class("rss") is FeedSource


def test_google_news_entries_become_mentions() -> None:
    api = news_api(Canned.payload("rss", "google_news.rss", headers=FEED_HEADERS))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    first, second = result.mentions  # oldest first; the two broken items are skipped
    assert result.skipped == 2
    assert second.id == "CBMifkFVX3lxTE5hQ2t4Z0VfQ0tQbW9tQkRrN3Vvc0ZQZ3pFaW5WT2l3"
    assert second.source == "rss"
    # The description only repeats the headline, so the text is the headline alone.
    assert second.text == "Acme ruft Router wegen Brandgefahr zurück - tagesschau.de"
    assert second.created_at == datetime(2026, 11, 26, 7, 31, tzinfo=UTC)
    assert second.lang == "de"  # from the channel's <language>
    assert second.author == "tagesschau.de"  # the publisher named in <source>
    assert second.url == (
        "https://news.google.com/rss/articles/CBMifkFVX3lxTE5hQ2t4Z0VfQ0tQbW9tQkRrN3Vvc0ZQZ3pFaW5WT2l3?oc=5"
    )
    assert second.engagement == {}
    assert first.text == "Verbraucherzentrale warnt vor Acme-Abofallen - Spiegel"

    cursor = json.loads(result.cursor or "")
    assert cursor["etag"] == 'W/"feed-v1"'
    assert cursor["modified"] == "Thu, 26 Nov 2026 07:57:31 GMT"
    assert len(cursor["seen"]) == 2
    assert "If-None-Match".lower() not in api.requests[0].headers


def test_google_alerts_links_are_unwrapped_and_html_becomes_text() -> None:
    api = FakeAPI()
    api.add("GET", "/alerts/feeds/06807031914929345698/10604166159629661594",
            Canned.payload("rss", "google_alerts.atom"))  # fmt: skip
    with api.client() as client:
        result = make_source(ALERTS_URL).poll(client, None, NOW)

    # The third alert (two days old) lies outside the lookback of the first poll.
    assert [m.url for m in result.mentions] == [
        "https://www.golem.example/news/datenverlust-bei-acme-2611-190001.html",
        "https://www.heise.example/news/Acme-Cloud-Kunden-verlieren-Daten-9912345.html",
    ]
    newest = result.mentions[-1]
    assert newest.id == "tag:google.com,2013:googlealerts/feed:14250112094938174235"
    assert newest.text == (
        "Acme Cloud: Kunden verlieren Daten von drei Tagen\n"
        "Der Cloud-Anbieter Acme hat bei einem Ausfall Kundendaten verloren & schweigt seit "
        "Tagen ..."
    )
    assert newest.author is None
    assert newest.lang is None
    assert len(json.loads(result.cursor or "")["seen"]) == 3


def test_conditional_request_and_not_modified() -> None:
    api = news_api(
        Canned.payload("rss", "google_news.rss", headers=FEED_HEADERS),
        Canned(304, b"", {"ETag": 'W/"feed-v1"'}),
    )
    source = make_source()
    with api.client() as client:
        first = source.poll(client, None, NOW)
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert second.mentions == []
    assert second.cursor == first.cursor
    request = api.requests[1]
    assert request.headers["if-none-match"] == 'W/"feed-v1"'
    assert request.headers["if-modified-since"] == "Thu, 26 Nov 2026 07:57:31 GMT"


def test_next_poll_delivers_only_entries_not_seen_before() -> None:
    source = make_source()
    api = news_api(Canned.payload("rss", "google_news.rss"))
    with api.client() as client:
        first = source.poll(client, None, NOW)

    # The feed gains one entry, back-dated before entries already delivered.
    feed = payload_path("rss", "google_news.rss").read_text(encoding="utf-8")
    added = """<item>
      <title>Acme-Chef entschuldigt sich - Handelsblatt</title>
      <link>https://news.google.com/rss/articles/CBMiNEWENTRY?oc=5</link>
      <guid isPermaLink="false">CBMiNEWENTRY</guid>
      <pubDate>Thu, 26 Nov 2026 06:00:00 GMT</pubDate>
    </item>
    <item>"""
    later = news_api(Canned(200, feed.replace("<item>", added, 1).encode("utf-8")))
    with later.client() as client:
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=5))

    assert [m.id for m in second.mentions] == ["CBMiNEWENTRY"]
    assert second.mentions[0].created_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_empty_feed_is_a_successful_poll() -> None:
    api = news_api(Canned.payload("rss", "empty.rss"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert result.mentions == []
    assert json.loads(result.cursor or "")["seen"] == []


def test_undated_entries_count_when_first_seen() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>Acme &amp; Co</title><link>https://example.com/acme</link></item>
    </channel></rss>"""
    api = news_api(Canned(200, feed, {"content-type": "application/rss+xml"}))
    with api.client() as client:
        (mention,) = make_source().poll(client, None, NOW).mentions
    assert mention.created_at == NOW
    assert mention.id == "https://example.com/acme"
    assert mention.text == "Acme & Co"


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned.html_error(200), "is not a feed"),
        (Canned.json({"error": "quota"}, 200), "is not a feed"),
        (Canned(200, b"", {"content-type": "application/rss+xml"}), "is not a feed"),
        (Canned.html_error(403), "check your token"),
        (Canned.html_error(502), "server error 502"),
    ],
)
def test_failures_raise_source_error_naming_the_source(canned: Canned, message: str) -> None:
    api = news_api(canned)
    with api.client() as client, pytest.raises(SourceError, match=message) as raised:
        make_source(name="gnews").poll(client, None, NOW)
    assert raised.value.source == "gnews"


def test_rate_limit_carries_retry_after() -> None:
    api = news_api(
        Canned(429, b"Too Many Requests", {"Retry-After": "Thu, 26 Nov 2026 08:10:00 GMT"})
    )
    with api.client() as client, pytest.raises(SourceError) as raised:
        make_source().poll(client, None, NOW)
    assert raised.value.retry_after == timedelta(minutes=10)


def test_unreadable_cursor_behaves_like_a_first_poll() -> None:
    api = news_api(Canned.payload("rss", "google_news.rss"))
    with api.client() as client:
        result = make_source().poll(client, '{"seen": "nope", "etag": "x"}', NOW)
    assert len(result.mentions) == 2
    assert "if-none-match" not in api.requests[0].headers


def test_settings_problems() -> None:
    assert FeedSettings(type="rss", url="news.google.com/rss").problems()[0][0] == "url"
    assert FeedSettings(type="rss", url=NEWS_URL).problems() == []


def test_over_a_real_loopback_server() -> None:
    api = news_api(
        Canned.payload("rss", "google_news.rss", headers=FEED_HEADERS),
        Canned(304, b"", {}),
    )
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        source = make_source(base_url + "rss/search?q=Acme&hl=de")
        first = source.poll(client, None, NOW)
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))
    assert len(first.mentions) == 2
    assert second.mentions == []
    assert api.requests[0].param("q") == "Acme"
    assert api.requests[1].headers["if-none-match"] == 'W/"feed-v1"'
