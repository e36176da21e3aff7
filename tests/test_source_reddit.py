"""Reddit source against recorded OAuth token, search and comment listing payloads."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.reddit import RedditSettings, RedditSource
from tests.sources_support import Canned, FakeAPI, load_json

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOKEN_PATH = "/api/v1/access_token"
SEARCH = "/search"
CLIENT_ID = "p-jcoLKBynTLew"
SECRET = "gko_LXELoV07ZBNUXrvWZfzE3aI"
APP_TOKEN = load_json("reddit", "token.json")["access_token"]
TOPIC = TopicTerms(name="acme", terms=["Acme", "#acme", "@acme"], languages=["de", "en"])
PAGE1_IDS = ["t3_1h0c7xk", "t3_1h0bz9e", "t3_1h0b2kq"]
PAGE1_NEWEST = 1795679820.0  # 07:57


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", SECRET)


def make_source(**overrides: Any) -> RedditSource:
    settings = RedditSettings(
        type="reddit",
        base_url="https://oauth.reddit.test/",
        auth_url="https://www.reddit.test/api/v1/access_token",
        **overrides,
    )
    return RedditSource(settings, TOPIC)


def api_with(*search: Canned, path: str = SEARCH) -> FakeAPI:
    api = FakeAPI()
    api.add("POST", TOKEN_PATH, Canned.payload("reddit", "token.json"))
    api.add("GET", path, *search)
    return api


def paged_api() -> FakeAPI:
    api = api_with(Canned.payload("reddit", "search_page1.json"))
    api.add(
        "GET", SEARCH, Canned.payload("reddit", "search_page2.json"), query={"after": "t3_1h0b2kq"}
    )
    return api


def test_registry_names_this_class() -> None:
    assert source_class("reddit") is RedditSource


def test_first_poll_authenticates_as_the_app_and_searches_new_posts() -> None:
    api = paged_api()
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    token_request = api.requests_to(TOKEN_PATH)[0]
    expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {expected}"
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"]}
    search = api.requests_to(SEARCH)[0]
    assert search.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert search.param("q") == "Acme"  # "#acme" and "@acme" mean the same word on Reddit
    assert search.param("sort") == "new"
    assert search.param("type") == "link"
    assert search.param("limit") == "100"
    assert search.param("raw_json") == "1"
    # Page 2 reaches a post older than the lookback, so paging stops there.
    assert [m.id for m in result.mentions] == [*PAGE1_IDS, "t3_1h0ar7d"]
    assert len(api.requests_to(SEARCH)) == 2
    assert result.truncated is False
    assert json.loads(result.cursor or "") == {"posts": {"newest": PAGE1_NEWEST}}


def test_posts_become_mentions_with_title_body_link_and_votes() -> None:
    api = paged_api()
    with api.client() as client:
        by_id = {m.id: m for m in make_source().poll(client, None, NOW).mentions}

    post = by_id["t3_1h0c7xk"]
    assert post.source == "reddit"
    assert post.text == (
        "Acme Störung – und der Kundendienst lacht uns aus\n\nSeit heute Morgen geht bei Acme gar "
        "nichts mehr. Hotline: 45 Minuten Warteschleife, dann aufgelegt. Geht es noch jemandem so?"
    )
    assert post.created_at == datetime(2026, 11, 26, 7, 57, tzinfo=UTC)
    assert post.author == "Kartoffelkrieger"
    assert post.lang is None
    assert post.url == (
        "https://www.reddit.com/r/de/comments/1h0c7xk/acme_störung_und_der_kundendienst_lacht_uns_aus/"
    )
    assert post.engagement == {"score": 412, "likes": 412, "replies": 187}
    link_post = by_id["t3_1h0bz9e"]
    assert link_post.text == "Acme quietly changes refund policy after outage <3 hours>"
    assert link_post.author is None  # "[deleted]"


def test_token_is_reused_until_it_expires() -> None:
    api = api_with(Canned.payload("reddit", "search_empty.json"))
    source = make_source()
    with api.client() as client:
        source.poll(client, None, NOW)
        source.poll(client, None, NOW + timedelta(hours=23))
        assert len(api.requests_to(TOKEN_PATH)) == 1
        source.poll(client, None, NOW + timedelta(hours=24))
    assert len(api.requests_to(TOKEN_PATH)) == 2


def test_a_revoked_token_is_renewed_once_and_the_request_repeated() -> None:
    api = api_with(
        Canned.payload("reddit", "search_empty.json"),
        Canned.payload("reddit", "unauthorized.json", status=401),
        Canned.payload("reddit", "search_newer.json"),
    )
    source = make_source()
    with api.client() as client:
        source.poll(client, None, NOW)
        result = source.poll(client, None, NOW + timedelta(minutes=1))

    assert len(api.requests_to(TOKEN_PATH)) == 2
    assert result.mentions[0].id == "t3_1h0cm2a"


def test_page_cap_truncates_and_the_next_poll_closes_the_gap() -> None:
    api = paged_api()
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        assert first.truncated is True
        assert [m.id for m in first.mentions] == PAGE1_IDS
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert api.requests_to(SEARCH)[1].param("after") == "t3_1h0b2kq"
    assert [m.id for m in second.mentions] == ["t3_1h0ar7d"]
    assert second.truncated is False
    # The newest post of the first poll is kept through the gap.
    assert json.loads(second.cursor or "") == {"posts": {"newest": PAGE1_NEWEST}}


def test_next_poll_stops_at_what_it_has_seen() -> None:
    api = api_with(Canned.payload("reddit", "search_newer.json"))
    cursor = json.dumps({"posts": {"newest": PAGE1_NEWEST}})
    with api.client() as client:
        result = make_source().poll(client, cursor, NOW + timedelta(minutes=5))

    # The post at exactly the known instant comes again (the store deduplicates); older ones not.
    assert [m.id for m in result.mentions] == ["t3_1h0cm2a", "t3_1h0c7xk"]
    assert len(api.requests_to(SEARCH)) == 1
    assert api.requests_to(SEARCH)[0].param("after") is None
    assert json.loads(result.cursor or "") == {"posts": {"newest": 1795680240.0}}


def test_empty_listing_keeps_the_cursor() -> None:
    api = api_with(Canned.payload("reddit", "search_empty.json"))
    cursor = json.dumps({"posts": {"newest": PAGE1_NEWEST}})
    with api.client() as client:
        result = make_source().poll(client, cursor, NOW)

    assert result.mentions == []
    assert json.loads(result.cursor or "") == {"posts": {"newest": PAGE1_NEWEST}}


def test_malformed_items_are_skipped_and_counted() -> None:
    api = api_with(Canned.payload("reddit", "search_mixed.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == ["t3_1h0c7xk", "t3_1h0b2kq"]
    assert result.skipped == 4
    assert result.mentions[1].engagement == {"score": 35, "likes": 35}


def test_a_body_that_is_not_a_listing_is_an_error() -> None:
    api = api_with(Canned.json({"kind": "Listing", "data": {"after": None}}))
    with api.client() as client, pytest.raises(SourceError, match="not a listing"):
        make_source().poll(client, None, NOW)


def test_rejected_credentials_name_the_variables_not_the_secret() -> None:
    api = FakeAPI()
    api.add("POST", TOKEN_PATH, Canned.payload("reddit", "unauthorized.json", status=401))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    message = str(caught.value)
    assert "401" in message
    assert "REDDIT_CLIENT_ID" in message and "REDDIT_CLIENT_SECRET" in message
    assert SECRET not in message and CLIENT_ID not in message


def test_token_endpoint_error_in_a_200_body_is_an_error() -> None:
    api = FakeAPI()
    api.add("POST", TOKEN_PATH, Canned.payload("reddit", "token_invalid_grant.json"))
    with api.client() as client, pytest.raises(SourceError, match="invalid_grant"):
        make_source().poll(client, None, NOW)


def test_missing_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    api = FakeAPI()
    with api.client() as client, pytest.raises(SourceError, match="set REDDIT_CLIENT_ID and"):
        make_source().poll(client, None, NOW)
    assert api.requests == []


def test_forbidden_search_is_a_clear_error() -> None:
    api = api_with(Canned.json({"message": "Forbidden", "error": 403}, status=403))
    with api.client() as client, pytest.raises(SourceError, match=r"403 .*access denied"):
        make_source().poll(client, None, NOW)


def test_rate_limit_waits_for_reddits_reset() -> None:
    headers = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0.0",
               "x-ratelimit-reset": "214"}  # fmt: skip
    api = api_with(Canned.payload("reddit", "too_many_requests.json", 429, headers))
    with api.client() as client, pytest.raises(SourceError) as caught:
        make_source().poll(client, None, NOW)

    assert caught.value.retry_after == timedelta(seconds=214)


def test_spent_rate_limit_stops_paging_before_a_429() -> None:
    headers = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0.0",
               "x-ratelimit-reset": "120"}  # fmt: skip
    api = api_with(Canned.payload("reddit", "search_page1.json", headers=headers))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    assert len(api.requests_to(SEARCH)) == 1
    assert result.truncated is True
    assert (
        result.rate_limit
        == "0.0 requests left, 100 used, window resets at 2026-11-26T08:02:00+00:00"
    )
    assert json.loads(result.cursor or "")["posts"]["after"] == "t3_1h0b2kq"


def test_server_error_fails_the_poll() -> None:
    api = api_with(Canned.json({"message": "Service Unavailable", "error": 503}, status=503))
    with api.client() as client, pytest.raises(SourceError, match="server error 503"):
        make_source().poll(client, None, NOW)


def test_html_page_with_status_200_fails_the_poll() -> None:
    api = api_with(Canned.html_error(200))
    with api.client() as client, pytest.raises(SourceError, match="expected JSON"):
        make_source().poll(client, None, NOW)


def test_subreddits_restrict_the_search_and_add_matching_comments() -> None:
    api = api_with(Canned.payload("reddit", "search_empty.json"), path="/r/de+acme/search")
    api.add("GET", "/r/de+acme/comments", Canned.payload("reddit", "comments.json"))
    with api.client() as client:
        result = make_source(subreddits=["de", "acme"]).poll(client, None, NOW)

    assert api.requests_to("/r/de+acme/search")[0].param("restrict_sr") == "1"
    # "Acmeology" is another word; "ACME" and "@acme" name the topic.
    assert [m.id for m in result.mentions] == ["t1_lz8k2qa", "t1_lz8jq01"]
    comment = result.mentions[0]
    assert comment.text == "Bei mir geht ACME seit 6 Uhr nicht, Kündigung ist raus."
    assert (
        comment.url == "https://www.reddit.com/r/de/comments/1h0a000/mittwochslaberfaden/lz8k2qa/"
    )
    assert comment.engagement == {"score": 23, "likes": 23}
    # The comment listing's position counts every comment seen, matching or not.
    assert json.loads(result.cursor or "")["comments"] == {"newest": 1795679940.0}


def test_subreddit_names_are_checked() -> None:
    assert RedditSettings(type="reddit", subreddits=["r/de", "acme"]).problems() == [
        ("subreddits", "not subreddit names (write them without r/): ['r/de']")
    ]


def test_poll_over_a_real_loopback_server() -> None:
    api = paged_api()
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        settings = RedditSettings(
            type="reddit", base_url=base_url, auth_url=base_url + "api/v1/access_token"
        )
        result = RedditSource(settings, TOPIC).poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [*PAGE1_IDS, "t3_1h0ar7d"]
    assert "ö" in result.mentions[0].text  # UTF-8 survives the real transport
    assert api.requests_to(TOKEN_PATH)[0].method == "POST"
