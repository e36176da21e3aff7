"""X source against recorded API v2 recent-search and counts payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.x import XSettings, XSource, snowflake_instant
from tests.sources_support import Canned, FakeAPI

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SEARCH = "/2/tweets/search/recent"
COUNTS = "/2/tweets/counts/recent"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer"
NEXT_TOKEN = "b26v89c19zqg8o3fr5qxyrrt7pc6rp2wozjrmkk0rrgql"
PAGE1_NEWEST = "2125861664191415506"
TOPIC = TopicTerms(name="acme", terms=["Acme", "#acme", "@acme"], languages=["de", "en"])


@pytest.fixture(autouse=True)
def bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)


def make_source(**overrides: Any) -> XSource:
    settings = XSettings(type="x", base_url="https://api.x.test/", **overrides)
    return XSource(settings, TOPIC)


def paged_api() -> FakeAPI:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_page1.json"))
    api.add(
        "GET", SEARCH, Canned.payload("x", "search_page2.json"), query={"next_token": NEXT_TOKEN}
    )
    return api


def test_registry_names_this_class() -> None:
    assert source_class("x") is XSource


def test_first_poll_reads_all_pages_from_the_lookback() -> None:
    api = paged_api()
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [
        "2125861664191415506", "2125861026657207506", "2125859864834999506",
        "2125858338108343506", "2125854902973367506",
    ]  # fmt: skip
    first = api.requests[0]
    assert first.param("query") == "(Acme OR #acme OR @acme) -is:retweet (lang:de OR lang:en)"
    assert first.param("start_time") == "2026-11-26T07:00:00Z"
    assert first.param("since_id") is None
    assert first.param("expansions") == "author_id"
    assert "public_metrics" in (first.param("tweet.fields") or "")
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    # The continuation keeps the same window, as X requires for next_token.
    assert api.requests[1].param("start_time") == "2026-11-26T07:00:00Z"
    assert json.loads(result.cursor or "") == {"since_id": PAGE1_NEWEST}
    assert result.truncated is False


def test_mentions_carry_text_author_reach_and_link() -> None:
    api = paged_api()
    with api.client() as client:
        by_id = {m.id: m for m in make_source().poll(client, None, NOW).mentions}

    angry = by_id["2125861664191415506"]
    assert angry.source == "x"
    assert angry.text == (
        "Schon wieder stundenlang keine Verbindung bei @acme & der Support schweigt. Unfassbar."
    )
    assert angry.created_at == datetime(2026, 11, 26, 7, 58, 12, tzinfo=UTC)
    assert angry.lang == "de"
    assert angry.author == "jana_k_muc"
    assert angry.url == "https://x.com/jana_k_muc/status/2125861664191415506"
    assert angry.engagement == {
        "likes": 87, "reposts": 14, "replies": 6, "quotes": 3, "views": 5120, "followers": 1893
    }  # fmt: skip
    # A long post: the full text from note_tweet, not the cut one.
    assert by_id["2125861026657207506"].text.endswith(
        '"all systems operational" three hours later.'
    )
    assert by_id["2125859864834999506"].lang is None  # "und": X could not tell


def test_page_cap_truncates_and_the_next_poll_finishes_the_result_set() -> None:
    api = paged_api()
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        assert first.truncated is True
        assert len(first.mentions) == 3
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    resumed = api.requests[1]
    assert resumed.param("next_token") == NEXT_TOKEN
    assert resumed.param("start_time") == "2026-11-26T07:00:00Z"
    assert [m.id for m in second.mentions] == ["2125858338108343506", "2125854902973367506"]
    assert second.truncated is False
    # Caught up: the newest id of the whole result set, not of its last page.
    assert json.loads(second.cursor or "") == {"since_id": PAGE1_NEWEST}


def test_an_expired_next_token_starts_a_fresh_result_set() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_newer.json"))
    refused = {"errors": [{"message": "Invalid next_token"}], "title": "Invalid Request"}
    api.add("GET", SEARCH, Canned.json(refused, 400), query={"next_token": "stale-token"})
    cursor = json.dumps(
        {"since_id": PAGE1_NEWEST, "resume_token": "stale-token",
         "resume_since_id": PAGE1_NEWEST, "resume_newest_id": "2125862494663607506"}
    )  # fmt: skip
    with api.client() as client:
        result = make_source(max_pages=1).poll(client, cursor, NOW)

    assert api.requests[1].param("next_token") is None
    assert api.requests[1].param("since_id") == PAGE1_NEWEST
    assert [m.id for m in result.mentions] == ["2125862872150967506"]
    assert json.loads(result.cursor or "") == {"since_id": "2125862872150967506"}


def test_an_unfinished_result_set_older_than_the_search_window_is_abandoned() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json"))
    cursor = json.dumps({"resume_token": NEXT_TOKEN, "resume_start_time": "2026-11-10T07:00:00Z"})
    with api.client() as client:
        make_source().poll(client, cursor, NOW)

    assert api.requests[0].param("next_token") is None
    assert api.requests[0].param("start_time") == "2026-11-26T07:00:00Z"


def test_next_poll_asks_only_for_newer_posts() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_newer.json"))
    with api.client() as client:
        result = make_source().poll(client, json.dumps({"since_id": PAGE1_NEWEST}), NOW)

    request = api.requests[0]
    assert request.param("since_id") == PAGE1_NEWEST
    assert request.param("start_time") is None
    assert [m.id for m in result.mentions] == ["2125862872150967506"]
    assert json.loads(result.cursor or "") == {"since_id": "2125862872150967506"}


def test_since_id_older_than_the_search_window_falls_back_to_start_time() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json"))
    ten_days_old = str(
        1234 | ((int((NOW - timedelta(days=10)).timestamp() * 1000) - 1288834974657) << 22)
    )
    assert snowflake_instant(ten_days_old) < NOW - timedelta(days=9)
    with api.client() as client:
        make_source().poll(client, json.dumps({"since_id": ten_days_old}), NOW)

    assert api.requests[0].param("since_id") is None
    assert api.requests[0].param("start_time") == "2026-11-19T08:05:00Z"


def test_empty_result_keeps_the_cursor() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json"))
    with api.client() as client:
        result = make_source().poll(client, json.dumps({"since_id": PAGE1_NEWEST}), NOW)

    assert result.mentions == []
    assert json.loads(result.cursor or "") == {"since_id": PAGE1_NEWEST}


def test_malformed_posts_are_skipped_and_counted() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_mixed.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == ["2125861664191415506", "2125854902973367506"]
    assert result.skipped == 5
    assert result.mentions[1].engagement == {}  # metrics not an object: no counters, not a crash


def test_a_response_without_meta_is_an_error_not_an_empty_success() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.json({"data": {"id": "1"}}))
    with api.client() as client, pytest.raises(SourceError, match="unexpected search response"):
        make_source().poll(client, None, NOW)


def test_unauthorized_says_which_variable_to_check_and_not_the_token() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "unauthorized.json", status=401))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    assert "401" in str(caught.value)
    assert "X_BEARER_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    api = FakeAPI()
    with api.client() as client, pytest.raises(SourceError, match="set X_BEARER_TOKEN"):
        make_source().poll(client, None, NOW)
    assert api.requests == []


def test_rate_limit_waits_until_the_window_resets() -> None:
    reset = int((NOW + timedelta(minutes=9, seconds=30)).timestamp())
    api = FakeAPI()
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
               "x-rate-limit-reset": str(reset)}  # fmt: skip
    api.add("GET", SEARCH, Canned.payload("x", "too_many_requests.json", 429, headers))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    assert caught.value.retry_after == timedelta(minutes=9, seconds=30)


def test_rate_limit_state_is_reported() -> None:
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "447",
               "x-rate-limit-reset": str(reset)}  # fmt: skip
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json", headers=headers))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert result.rate_limit == "447/450 requests left, window resets at 2026-11-26T08:12:00Z"


def test_server_error_fails_the_poll() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.json({"title": "Service Unavailable"}, 503))
    with api.client() as client, pytest.raises(SourceError, match="server error 503"):
        make_source().poll(client, None, NOW)


def test_html_page_with_status_200_fails_the_poll() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.html_error(200))
    with api.client() as client, pytest.raises(SourceError, match="expected JSON"):
        make_source().poll(client, None, NOW)


def test_bad_query_error_passes_on_xs_explanation() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "invalid_query.json", status=400))
    with api.client() as client, pytest.raises(SourceError, match="Missing closing parenthesis"):
        make_source().poll(client, None, NOW)


def test_own_query_is_used_as_written() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json"))
    with api.client() as client:
        make_source(query="acme outage -is:reply").poll(client, None, NOW)
    assert api.requests[0].param("query") == "acme outage -is:reply"


def test_counts_become_a_per_minute_volume_series() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("x", "search_empty.json"))
    api.add("GET", COUNTS, Canned.payload("x", "counts_minute.json"))
    with api.client() as client:
        result = make_source(counts=True).poll(client, None, NOW)

    counts_request = api.requests_to(COUNTS)[0]
    assert counts_request.param("granularity") == "minute"
    assert counts_request.param("start_time") == "2026-11-26T07:00:00Z"
    series = result.details["counts"]
    assert len(series) == 4
    assert series[-1] == {
        "start_at": datetime(2026, 11, 26, 7, 57, tzinfo=UTC),
        "end_at": datetime(2026, 11, 26, 7, 58, tzinfo=UTC),
        "count": 31,
    }


def test_counts_forbidden_on_the_plan_does_not_fail_the_search() -> None:
    api = paged_api()
    api.add("GET", COUNTS, Canned.payload("x", "counts_forbidden.json", status=403))
    with api.client() as client:
        result = make_source(counts=True).poll(client, None, NOW)

    assert len(result.mentions) == 5
    assert "counts" not in result.details
    assert "not available on this X plan (403)" in result.details["counts_error"]


def test_counts_are_not_fetched_unless_asked() -> None:
    api = paged_api()
    with api.client() as client:
        make_source().poll(client, None, NOW)
    assert api.requests_to(COUNTS) == []


def test_max_results_outside_the_apis_range_is_a_settings_problem() -> None:
    assert XSettings(type="x", max_results=5).problems() == [
        ("max_results", "must be between 10 and 100 (the API's limits)")
    ]
    assert XSettings(type="x").problems() == []


def test_poll_over_a_real_loopback_server() -> None:
    api = paged_api()
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        source = XSource(XSettings(type="x", name="x-de", base_url=base_url), TOPIC)
        result = source.poll(client, None, NOW)

    assert len(result.mentions) == 5
    assert {m.source for m in result.mentions} == {"x-de"}
    assert "&amp;" not in result.mentions[0].text
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
