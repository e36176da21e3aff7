"""YouTube source against recorded Data API v3 ``commentThreads.list`` payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.youtube import YouTubeSettings, YouTubeSource, next_quota_reset
from tests.sources_support import Canned, FakeAPI, load_json

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
THREADS = "/youtube/v3/commentThreads"
KEY = "AIzaSyD-test-key-4f1c9a0b2e"
VIDEO = "kJ8xQ2mN4pA"
VIDEO2 = "Zp3Lr9vWq1E"
DISABLED = "dis4bLed0aa"
PAGE2_TOKEN = load_json("youtube", "threads_page1.json")["nextPageToken"]
PAGE1_IDS = [
    "UgzX1sQ8r3kYx2nJd9R4AaABAg",
    "UgyT7pWc0eR5mB1vXk94AaABAg",
    "Ugw2nQ4bV8sZ1yHc6Lp4AaABAg",
]
TOPIC = TopicTerms(name="acme", terms=["Acme"], languages=["de", "en"])


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)


def make_source(**overrides: Any) -> YouTubeSource:
    overrides.setdefault("video_ids", [VIDEO])
    settings = YouTubeSettings(
        type="youtube", base_url="https://www.googleapis.test/youtube/v3/", **overrides
    )
    return YouTubeSource(settings, TOPIC)


def video_api() -> FakeAPI:
    api = FakeAPI()
    api.add(
        "GET", THREADS, Canned.payload("youtube", "threads_page1.json"), query={"videoId": VIDEO}
    )
    api.add(
        "GET",
        THREADS,
        Canned.payload("youtube", "threads_page2.json"),
        query={"videoId": VIDEO, "pageToken": PAGE2_TOKEN},
    )
    api.add(
        "GET", THREADS, Canned.payload("youtube", "threads_video2.json"), query={"videoId": VIDEO2}
    )
    return api


def cursor_of(result_cursor: str | None) -> Any:
    return json.loads(result_cursor or "")


def test_registry_names_this_class() -> None:
    assert source_class("youtube") is YouTubeSource


def test_first_poll_pages_down_to_the_lookback() -> None:
    api = video_api()
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    # Page 2 holds a comment from before the lookback: paging stops there, and it is left out.
    assert [m.id for m in result.mentions] == [*PAGE1_IDS, "UgxF5kJ9cT2wN8rQm13AaABAg"]
    first, second = api.requests
    assert first.param("part") == "snippet"
    assert first.param("order") == "time"
    assert first.param("maxResults") == "100"
    assert first.param("videoId") == VIDEO
    assert second.param("pageToken") == PAGE2_TOKEN
    # The key travels in a header, never in a URL that might be logged.
    assert first.headers["x-goog-api-key"] == KEY
    assert first.param("key") is None
    assert result.truncated is False
    assert result.details["calls"] == 2
    assert cursor_of(result.cursor)["threads"] == {
        f"video:{VIDEO}": {"newest": "2026-11-26T07:58:41+00:00"}
    }


def test_comments_become_mentions_with_author_counters_and_link() -> None:
    api = video_api()
    with api.client() as client:
        comment = make_source().poll(client, None, NOW).mentions[0]

    assert comment.source == "youtube"
    assert (
        comment.text
        == "Ihr habt meine Daten verloren und sagt drei Tage lang nichts?! Nie wieder Acme."
    )
    assert comment.created_at == datetime(2026, 11, 26, 7, 58, 41, tzinfo=UTC)
    assert comment.author == "@lenaausberlin"
    assert comment.lang is None
    assert comment.engagement == {"likes": 12, "replies": 3}
    assert comment.url == f"https://www.youtube.com/watch?v={VIDEO}&lc=UgzX1sQ8r3kYx2nJd9R4AaABAg"


def test_every_video_keeps_its_own_position() -> None:
    api = video_api()
    with api.client() as client:
        result = make_source(video_ids=[VIDEO, VIDEO2]).poll(client, None, NOW)

    assert "UgyQ8mR2kW5tB0xJv41AaABAg" in {m.id for m in result.mentions}
    assert "UgwK1nS7pX4vD2yLm58AaABAg" not in {m.id for m in result.mentions}  # before lookback
    assert cursor_of(result.cursor)["threads"] == {
        f"video:{VIDEO}": {"newest": "2026-11-26T07:58:41+00:00"},
        f"video:{VIDEO2}": {"newest": "2026-11-26T07:56:10+00:00"},
    }


def test_next_poll_stops_at_the_newest_comment_it_has_seen() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "threads_newer.json"))
    cursor = json.dumps(
        {"threads": {f"video:{VIDEO}": {"newest": "2026-11-26T07:58:41+00:00"}}, "start": 0}
    )
    with api.client() as client:
        result = make_source().poll(client, cursor, NOW + timedelta(minutes=5))

    # The comment at exactly the known instant comes again (the store deduplicates).
    assert [m.id for m in result.mentions] == [
        "UgxZ9pT3lY6wE4aNo66AaABAg", "UgzX1sQ8r3kYx2nJd9R4AaABAg"
    ]  # fmt: skip
    assert len(api.requests) == 1
    assert cursor_of(result.cursor)["threads"][f"video:{VIDEO}"] == {
        "newest": "2026-11-26T08:03:12+00:00"
    }


def test_page_cap_truncates_and_the_next_poll_continues_from_the_page_token() -> None:
    api = video_api()
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        assert first.truncated is True
        assert [m.id for m in first.mentions] == PAGE1_IDS
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=5))

    assert api.requests[1].param("pageToken") == PAGE2_TOKEN
    assert [m.id for m in second.mentions] == ["UgxF5kJ9cT2wN8rQm13AaABAg"]
    assert second.truncated is False
    assert cursor_of(second.cursor)["threads"][f"video:{VIDEO}"] == {
        "newest": "2026-11-26T07:58:41+00:00"
    }


def test_a_refused_page_token_reads_the_gap_again_from_the_top() -> None:
    api = video_api()
    refused = {"error": {"code": 400, "message": "The page token is not valid.",
                         "errors": [{"reason": "invalidPageToken"}]}}  # fmt: skip
    api.add(
        "GET", THREADS, Canned.json(refused, 400), query={"videoId": VIDEO, "pageToken": "stale"}
    )
    cursor = json.dumps(
        {"threads": {f"video:{VIDEO}": {"page_token": "stale", "until": "2026-11-26T07:00:00+00:00",
                                        "top": "2026-11-26T07:58:41+00:00"}}}
    )  # fmt: skip
    with api.client() as client:
        result = make_source().poll(client, cursor, NOW)

    assert [r.param("pageToken") for r in api.requests] == ["stale", None, PAGE2_TOKEN]
    assert [m.id for m in result.mentions] == [*PAGE1_IDS, "UgxF5kJ9cT2wN8rQm13AaABAg"]
    assert cursor_of(result.cursor)["threads"][f"video:{VIDEO}"] == {
        "newest": "2026-11-26T07:58:41+00:00"
    }


def test_call_cap_bounds_the_quota_and_the_next_poll_starts_where_it_stopped() -> None:
    api = video_api()
    source = make_source(video_ids=[VIDEO, VIDEO2], max_calls=2)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        assert len(api.requests) == 2  # both spent on the first video's two pages
        assert first.truncated is True
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=5))

    assert api.requests[2].param("videoId") == VIDEO2
    assert "UgyQ8mR2kW5tB0xJv41AaABAg" in {m.id for m in second.mentions}


def test_empty_page_keeps_the_position() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "threads_empty.json"))
    cursor = json.dumps({"threads": {f"video:{VIDEO}": {"newest": "2026-11-26T07:58:41+00:00"}}})
    with api.client() as client:
        result = make_source().poll(client, cursor, NOW)

    assert result.mentions == []
    assert cursor_of(result.cursor)["threads"][f"video:{VIDEO}"] == {
        "newest": "2026-11-26T07:58:41+00:00"
    }


def test_malformed_threads_are_skipped_and_counted() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "threads_mixed.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [
        "UgzX1sQ8r3kYx2nJd9R4AaABAg", "Ugw2nQ4bV8sZ1yHc6Lp4AaABAg"
    ]  # fmt: skip
    assert result.skipped == 5
    assert result.mentions[1].engagement == {"replies": 1}  # likeCount "many" is dropped


def test_a_response_without_items_is_an_error() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.json({"kind": "youtube#commentThreadListResponse"}))
    with api.client() as client, pytest.raises(SourceError, match="no items list"):
        make_source().poll(client, None, NOW)


def test_a_video_with_comments_disabled_does_not_fail_the_others() -> None:
    api = video_api()
    api.add(
        "GET",
        THREADS,
        Canned.payload("youtube", "comments_disabled.json", status=403),
        query={"videoId": DISABLED},
    )
    api.add(
        "GET",
        THREADS,
        Canned.payload("youtube", "video_not_found.json", status=404),
        query={"videoId": "g0neV1deo00"},
    )
    source = make_source(video_ids=[DISABLED, VIDEO2, "g0neV1deo00"])
    with api.client() as client:
        result = source.poll(client, None, NOW)

    assert [m.id for m in result.mentions] == ["UgyQ8mR2kW5tB0xJv41AaABAg"]
    assert result.details["comments_disabled"] == [DISABLED]
    assert result.details["not_found"] == ["g0neV1deo00"]


def test_channel_mode_reads_all_threads_of_the_channel() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "threads_video2.json"))
    source = make_source(video_ids=[], channel_id="UCm9K6rby98W8JigLoZOh6FQ")
    with api.client() as client:
        result = source.poll(client, None, NOW)

    assert api.requests[0].param("allThreadsRelatedToChannelId") == "UCm9K6rby98W8JigLoZOh6FQ"
    assert api.requests[0].param("videoId") is None
    assert [m.id for m in result.mentions] == ["UgyQ8mR2kW5tB0xJv41AaABAg"]
    assert "channel:UCm9K6rby98W8JigLoZOh6FQ" in cursor_of(result.cursor)["threads"]


def test_spent_quota_pauses_until_midnight_pacific() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "quota_exceeded.json", status=403))
    now = datetime(2026, 7, 1, 18, 30, tzinfo=UTC)  # 11:30 PDT
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, now)

    assert caught.value.retry_after == timedelta(hours=12, minutes=30)
    assert "quotaExceeded" in str(caught.value)


def test_quota_reset_follows_pacific_time_and_its_daylight_saving() -> None:
    # 08:00 UTC on 26 November is midnight PST: the next reset is a full day away.
    assert next_quota_reset(NOW) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert next_quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )


def test_invalid_key_names_the_variable_not_the_key() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "key_invalid.json", status=400))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    assert "API key not valid" in str(caught.value)
    assert "check YOUTUBE_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)


def test_api_not_enabled_is_a_clear_error() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.payload("youtube", "access_not_configured.json", status=403))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    assert "403" in str(caught.value)
    assert "has not been used in project" in str(caught.value)


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YOUTUBE_API_KEY")
    api = FakeAPI()
    with api.client() as client, pytest.raises(SourceError, match="set YOUTUBE_API_KEY"):
        make_source().poll(client, None, NOW)
    assert api.requests == []


def test_rate_limit_with_retry_after_waits() -> None:
    api = FakeAPI()
    reason = {"reason": "rateLimitExceeded", "domain": "youtube.quota"}
    body = {"error": {"code": 429, "message": "Too many requests", "errors": [reason]}}
    api.add("GET", THREADS, Canned.json(body, 429, headers={"retry-after": "30"}))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)
    assert caught.value.retry_after == timedelta(seconds=30)


def test_server_error_fails_the_poll() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.json({"error": {"code": 503, "message": "Backend Error"}}, 503))
    with api.client() as client, pytest.raises(SourceError, match="server error 503"):
        make_source().poll(client, None, NOW)


def test_html_page_with_status_200_fails_the_poll() -> None:
    api = FakeAPI()
    api.add("GET", THREADS, Canned.html_error(200))
    with api.client() as client, pytest.raises(SourceError, match="expected JSON"):
        make_source().poll(client, None, NOW)


def test_settings_need_something_to_watch_and_a_quota_they_fit() -> None:
    assert YouTubeSettings(type="youtube").problems() == [
        ("video_ids", "set video_ids or channel_id (what to watch)")
    ]
    assert YouTubeSettings(type="youtube", video_ids=[VIDEO]).problems() == []
    greedy = YouTubeSettings(type="youtube", video_ids=[VIDEO], interval=timedelta(minutes=1))
    assert [key for key, _ in greedy.problems()] == ["max_calls"]  # 1440 x 20 > 10,000
    assert "28800" in greedy.problems()[0][1]
    crowded = YouTubeSettings(
        type="youtube", video_ids=[f"v{i:010d}" for i in range(3)], max_calls=2
    )
    assert [key for key, _ in crowded.problems()] == ["max_calls"]


def test_poll_over_a_real_loopback_server() -> None:
    api = video_api()
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        settings = YouTubeSettings(
            type="youtube", base_url=base_url + "youtube/v3/", video_ids=[VIDEO, VIDEO2]
        )
        result = YouTubeSource(settings, TOPIC).poll(client, None, NOW)

    assert len(result.mentions) == 5
    assert any("hängt" in m.text for m in result.mentions)  # UTF-8 survives the real transport
    assert api.requests[0].headers["x-goog-api-key"] == KEY
