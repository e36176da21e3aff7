"""Hacker News source against recorded Algolia HN Search payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.hackernews import HackerNewsSettings, HackerNewsSource
from tests.sources_support import Canned, FakeAPI, load_json

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
START = int((NOW - timedelta(hours=1)).timestamp())  # default lookback
OVERLAP = 120
SEARCH = "/api/v1/search_by_date"
TOPIC = TopicTerms(name="acme", terms=["Acme", "#acme", "@acme"], languages=["de", "en"])


def make_source(**overrides: Any) -> HackerNewsSource:
    settings = HackerNewsSettings(
        type="hackernews", base_url="https://hn.test/api/v1/", **overrides
    )
    return HackerNewsSource(settings, TOPIC)


def paged_api() -> FakeAPI:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("hackernews", "page0.json"), query={"page": "0"})
    api.add("GET", SEARCH, Canned.payload("hackernews", "page1.json"), query={"page": "1"})
    return api


def test_registry_names_this_class() -> None:
    assert source_class("hackernews") is HackerNewsSource


def test_poll_reads_stories_and_comments_across_pages() -> None:
    api = paged_api()
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [
        "42310944", "42311355", "42311502", "42311870", "42311944"
    ]  # fmt: skip
    by_id = {m.id: m for m in result.mentions}
    comment = by_id["42311944"]
    assert comment.source == "hackernews"
    assert comment.text == (
        "Acme's outage postmortem is really thin.\n"
        "They lost customer data & didn't say so for three days. "
        "See https://status.acme.example/incidents/881"
    )
    assert comment.created_at == datetime(2026, 11, 26, 7, 58, 20, tzinfo=UTC)
    assert comment.author == "tptacek"
    assert comment.url == "https://news.ycombinator.com/item?id=42311944"
    assert comment.engagement == {}
    story = by_id["42311870"]
    assert story.text == (
        "Acme Cloud loses three days of customer data\n"
        "https://www.theregister.example/2026/11/26/acme_cloud_outage/"
    )
    assert story.engagement == {"score": 143, "replies": 57}
    ask = by_id["42311502"]
    assert ask.text.startswith("Ask HN: Anyone else hit by the Acme Cloud outage?\nOur backups")
    assert not result.truncated
    assert result.skipped == 0

    first = api.requests[0]
    assert first.param("query") == "Acme"  # "#acme" and "@acme" are the same search
    assert first.param("tags") == "(story,comment)"
    assert first.param("numericFilters") == f"created_at_i>{START - OVERLAP}"
    assert first.param("hitsPerPage") == "100"
    assert [r.param("page") for r in api.requests] == ["0", "1"]
    assert json.loads(result.cursor or "") == {"terms": {"Acme": {"since": 1795679900}}}


def test_next_poll_continues_from_the_cursor_without_refetching() -> None:
    with paged_api().client() as client:
        first = make_source().poll(client, None, NOW)
    later = FakeAPI()
    later.add("GET", SEARCH, Canned.payload("hackernews", "empty.json"))
    with later.client() as client:
        second = make_source().poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert second.mentions == []
    (request,) = later.requests
    assert request.param("numericFilters") == f"created_at_i>{1795679900 - OVERLAP}"
    assert second.cursor == first.cursor  # nothing newer: the position stays


def test_page_cap_leaves_a_window_that_the_next_poll_fills() -> None:
    api = paged_api()
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)

    assert first.truncated
    assert [m.id for m in first.mentions] == ["42311502", "42311870", "42311944"]
    assert json.loads(first.cursor or "")["terms"]["Acme"] == {
        "since": START,
        "until": 1795677900,  # the oldest item read
        "resume_since": 1795679900,  # the newest item read
    }

    rest = FakeAPI()
    rest_page = load_json("hackernews", "page1.json") | {"nbPages": 1, "page": 0}
    rest.add("GET", SEARCH, Canned.json(rest_page))
    with rest.client() as client:
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    (request,) = rest.requests
    assert request.param("numericFilters") == (
        f"created_at_i>{START - OVERLAP},created_at_i<=1795677900"
    )
    assert [m.id for m in second.mentions] == ["42310944", "42311355"]
    assert not second.truncated
    # Window filled: the next poll starts after the newest item the first poll saw.
    assert json.loads(second.cursor or "") == {"terms": {"Acme": {"since": 1795679900}}}


def test_empty_result_keeps_the_lookback_position() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("hackernews", "empty.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert result.mentions == []
    assert json.loads(result.cursor or "") == {"terms": {"Acme": {"since": START}}}


def test_each_distinct_term_gets_its_own_search() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("hackernews", "empty.json"))
    settings = HackerNewsSettings(
        type="hackernews",
        name="hn",
        base_url="https://hn.test/api/v1",
        query=["Acme", "ACME Cloud"],
    )
    with api.client() as client:
        result = HackerNewsSource(settings, TOPIC).poll(client, None, NOW)
    assert [r.param("query") for r in api.requests] == ["Acme", "ACME Cloud"]
    assert set(json.loads(result.cursor or "")["terms"]) == {"Acme", "ACME Cloud"}


def test_malformed_hits_are_skipped_and_counted() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("hackernews", "mixed.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert [m.id for m in result.mentions] == ["42311950", "42311990"]
    assert result.skipped == 4


def test_unreadable_cursor_starts_again_from_the_lookback() -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, Canned.payload("hackernews", "empty.json"))
    with api.client() as client:
        make_source().poll(client, '{"terms": [1, 2]}', NOW)
    assert api.requests[0].param("numericFilters") == f"created_at_i>{START - OVERLAP}"


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned.json({"message": "Forbidden"}, 403), "check your token"),
        (Canned.json({"message": "boom"}, 503), "server error 503"),
        (Canned.html_error(200), "expected JSON"),
        (Canned.json({"message": "Invalid syntax"}, 200), "no 'hits' list"),
        (Canned.json({"hits": [], "page": 0}, 200), "no 'nbPages'"),
    ],
)
def test_failures_raise_source_error_naming_the_source(canned: Canned, message: str) -> None:
    api = FakeAPI()
    api.add("GET", SEARCH, canned)
    with api.client() as client, pytest.raises(SourceError, match=message) as raised:
        make_source(name="hn-main").poll(client, None, NOW)
    assert raised.value.source == "hn-main"


def test_rate_limit_carries_retry_after() -> None:
    api = FakeAPI()
    api.add(
        "GET", SEARCH, Canned.json({"message": "Too many requests"}, 429, {"Retry-After": "90"})
    )
    with api.client() as client, pytest.raises(SourceError) as raised:
        make_source().poll(client, None, NOW)
    assert raised.value.retry_after == timedelta(seconds=90)


def test_timeout_is_a_source_error() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    client = httpx.Client(transport=httpx.MockTransport(time_out), timeout=5)
    with client, pytest.raises(SourceError, match="timed out"):
        make_source().poll(client, None, NOW)


def test_settings_problems() -> None:
    settings = HackerNewsSettings(type="hackernews", hits_per_page=0, query=[" "])
    assert {key for key, _ in settings.problems()} == {"hits_per_page", "query"}
    assert HackerNewsSettings(type="hackernews").problems() == []


def test_over_a_real_loopback_server() -> None:
    api = paged_api()
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        settings = HackerNewsSettings(type="hackernews", base_url=base_url + "api/v1/")
        result = HackerNewsSource(settings, TOPIC).poll(client, None, NOW)
    assert len(result.mentions) == 5
    assert api.requests[0].headers["accept-encoding"]
    assert api.requests[0].param("tags") == "(story,comment)"
