"""Bluesky source against recorded XRPC payloads: search, login, token refresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.bluesky import BlueskySettings, BlueskySource
from tests.sources_support import Canned, FakeAPI, load_json

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
TOPIC = TopicTerms(name="acme", terms=["Acme", "#acme", "@acme"], languages=["de", "en"])
HANDLE = "acme-monitor.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
ENV = {"BLUESKY_HANDLE": HANDLE, "BLUESKY_APP_PASSWORD": PASSWORD}
SESSION = load_json("bluesky", "session.json")
REFRESHED = load_json("bluesky", "refreshed.json")
EXPIRED = Canned.json({"error": "ExpiredToken", "message": "Token has expired"}, 400)


def make_source(
    topic: TopicTerms = TOPIC, environ: dict[str, str] | None = None, **overrides: Any
) -> BlueskySource:
    settings = BlueskySettings(type="bluesky", base_url="https://pds.test/xrpc/", **overrides)
    return BlueskySource(settings, topic, environ=ENV if environ is None else environ)


def api_with_login(*search: Canned) -> FakeAPI:
    api = FakeAPI()
    api.add("POST", LOGIN, Canned.payload("bluesky", "session.json"))
    if search:
        api.add("GET", SEARCH, *search)
    return api


def bearer(request: Any) -> str:
    return str(request.headers.get("authorization", "")).removeprefix("Bearer ")


def test_registry_names_this_class() -> None:
    assert source_class("bluesky") is BlueskySource


def test_logs_in_and_reads_search_pages() -> None:
    api = api_with_login(
        Canned.payload("bluesky", "search_page1.json"),
        Canned.payload("bluesky", "search_page2.json"),
    )
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    login, first, second = api.requests
    assert login.json() == {"identifier": HANDLE, "password": PASSWORD}
    assert bearer(first) == SESSION["accessJwt"]
    assert first.param("q") == "Acme"  # "#acme" and "@acme" are the same search
    assert first.param("sort") == "latest"
    assert first.param("since") == "2026-11-26T06:58:00.000Z"  # lookback minus overlap
    assert first.param("until") is None
    assert first.param("lang") is None  # two topic languages: no single filter
    assert second.param("cursor") == "3"

    assert len(result.mentions) == 5
    lena = result.mentions[-1]
    assert lena.id == "at://did:plc:4tqx2kzvbn7hl3jwma5ydcfe/app.bsky.feed.post/3lbxqf2kzpc2s"
    assert lena.source == "bluesky"
    assert lena.url == "https://bsky.app/profile/lena.bsky.social/post/3lbxqf2kzpc2s"
    assert lena.author == "lena.bsky.social"
    assert lena.lang == "de"
    assert lena.created_at == datetime(2026, 11, 26, 7, 56, 41, 512000, tzinfo=UTC)
    assert lena.engagement == {"likes": 41, "reposts": 8, "replies": 3, "quotes": 1}
    assert lena.text.endswith("Funkstille. #acme")
    dev = result.mentions[-2]
    assert dev.lang == "en"  # "en-US"
    anonymous = result.mentions[-3]
    assert anonymous.lang is None
    # An account without a valid handle is linked by its DID.
    assert anonymous.url == (
        "https://bsky.app/profile/did:plc:q8ezn3w4xaj6kdlr5ufyp2oh/post/3lbxp3rq7qc2k"
    )
    assert not result.truncated
    assert json.loads(result.cursor or "") == {
        "terms": {"Acme": {"since": "2026-11-26T07:56:41.512Z"}}
    }
    assert PASSWORD not in (result.cursor or "")


def test_session_is_reused_and_the_cursor_continues() -> None:
    api = api_with_login(
        Canned.payload("bluesky", "search_page2.json"),
        Canned.payload("bluesky", "search_empty.json"),
    )
    source = make_source(topic=TopicTerms(name="acme", terms=["Acme"], languages=["de"]))
    with api.client() as client:
        first = source.poll(client, None, NOW)
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert len(api.requests_to(LOGIN)) == 1
    searches = api.requests_to(SEARCH)
    assert searches[0].param("lang") == "de"
    # The second poll starts at the newest post read (07:20:00), less the overlap.
    assert searches[1].param("since") == "2026-11-26T07:18:00.000Z"
    assert second.mentions == []
    assert second.cursor == first.cursor


def test_page_cap_leaves_a_window_that_the_next_poll_fills() -> None:
    api = api_with_login()
    api.add("GET", SEARCH, Canned.payload("bluesky", "search_page1.json"))
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)

    assert first.truncated
    assert len(first.mentions) == 3
    assert json.loads(first.cursor or "")["terms"]["Acme"] == {
        "since": "2026-11-26T07:00:00.000Z",
        "until": "2026-11-26T07:31:15.000Z",
        "resume_since": "2026-11-26T07:56:41.512Z",
    }

    rest = api_with_login(Canned.payload("bluesky", "search_page2.json"))
    with rest.client() as client:
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))
    (search,) = rest.requests_to(SEARCH)
    assert search.param("since") == "2026-11-26T06:58:00.000Z"
    assert search.param("until") == "2026-11-26T07:31:16.000Z"
    assert len(second.mentions) == 2
    assert json.loads(second.cursor or "") == {
        "terms": {"Acme": {"since": "2026-11-26T07:56:41.512Z"}}
    }


def test_expired_token_is_refreshed_and_the_call_repeated() -> None:
    api = api_with_login(
        Canned.payload("bluesky", "search_empty.json"),
        EXPIRED,
        Canned.payload("bluesky", "search_empty.json"),
    )
    api.add("POST", REFRESH, Canned.payload("bluesky", "refreshed.json"))
    source = make_source()
    with api.client() as client:
        source.poll(client, None, NOW)
        result = source.poll(client, None, NOW + timedelta(hours=3))

    assert result.mentions == []
    (refresh,) = api.requests_to(REFRESH)
    assert bearer(refresh) == SESSION["refreshJwt"]
    searches = api.requests_to(SEARCH)
    assert [bearer(r) for r in searches] == [
        SESSION["accessJwt"], SESSION["accessJwt"], REFRESHED["accessJwt"]
    ]  # fmt: skip
    assert len(api.requests_to(LOGIN)) == 1


def test_failed_refresh_logs_in_again() -> None:
    api = api_with_login(
        Canned.payload("bluesky", "search_empty.json"),
        EXPIRED,
        Canned.payload("bluesky", "search_empty.json"),
    )
    api.add("POST", REFRESH, Canned.json({"error": "ExpiredToken", "message": "expired"}, 400))
    source = make_source()
    with api.client() as client:
        source.poll(client, None, NOW)
        source.poll(client, None, NOW + timedelta(days=90))
    assert len(api.requests_to(LOGIN)) == 2
    assert [r.path for r in api.requests] == [LOGIN, SEARCH, SEARCH, REFRESH, LOGIN, SEARCH]


def test_missing_credentials_name_the_variables() -> None:
    source = make_source(environ={"BLUESKY_HANDLE": HANDLE})
    with FakeAPI().client() as client, pytest.raises(SourceError) as raised:
        source.poll(client, None, NOW)
    assert "set BLUESKY_APP_PASSWORD" in str(raised.value)
    assert "BLUESKY_HANDLE" not in raised.value.message


def test_refused_login_says_which_variables_to_check_without_the_password() -> None:
    api = FakeAPI()
    api.add(
        "POST",
        LOGIN,
        Canned.json(
            {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401
        ),
    )
    with api.client() as client, pytest.raises(SourceError) as raised:
        make_source(name="bsky").poll(client, None, NOW)
    message = str(raised.value)
    assert "AuthenticationRequired" in message
    assert "BLUESKY_APP_PASSWORD" in message
    assert PASSWORD not in message
    assert raised.value.source == "bsky"


def test_rate_limit_waits_until_the_reset() -> None:
    reset = int((NOW + timedelta(seconds=200)).timestamp())
    headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
    api = api_with_login(Canned.json({"error": "RateLimitExceeded"}, 429, headers))
    with api.client() as client, pytest.raises(SourceError, match="429") as raised:
        make_source().poll(client, None, NOW)
    assert raised.value.retry_after == timedelta(seconds=200)


def test_rate_limit_state_is_reported() -> None:
    reset = int((NOW + timedelta(minutes=5)).timestamp())
    headers = {
        "ratelimit-limit": "3000",
        "ratelimit-remaining": "2987",
        "ratelimit-reset": str(reset),
    }
    api = api_with_login(Canned.payload("bluesky", "search_empty.json", headers=headers))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert result.rate_limit == "2987 of 3000 requests left, resets 2026-11-26T08:05:00.000Z"


def test_malformed_posts_are_skipped_and_counted() -> None:
    api = api_with_login(Canned.payload("bluesky", "search_mixed.json"))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert [m.author for m in result.mentions] == ["presse.acme.example", "lena.bsky.social"]
    assert result.skipped == 5


def test_future_timestamps_do_not_push_the_position_past_now() -> None:
    page = load_json("bluesky", "search_page2.json")
    page["posts"][0]["record"]["createdAt"] = "2027-01-01T00:00:00.000Z"
    page["posts"][0]["indexedAt"] = "2027-01-01T00:00:01.000Z"
    api = api_with_login(Canned.json(page))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    # Not now, and not 2027: the newest post whose time can be believed.
    assert json.loads(result.cursor or "")["terms"]["Acme"]["since"] == "2026-11-26T07:08:00.000Z"


def test_a_clock_slightly_ahead_moves_the_position_to_now_at_most() -> None:
    page = load_json("bluesky", "search_page2.json")
    page["posts"][0]["record"]["createdAt"] = "2026-11-26T08:01:00.000Z"
    page["posts"][0]["indexedAt"] = "2026-11-26T08:01:01.000Z"
    api = api_with_login(Canned.json(page))
    with api.client() as client:
        result = make_source().poll(client, None, NOW)
    assert json.loads(result.cursor or "")["terms"]["Acme"]["since"] == "2026-11-26T08:00:00.000Z"
    assert len(result.mentions) == 2  # kept: within the allowed skew


def test_a_placeholder_date_does_not_open_an_empty_window() -> None:
    """A post dated 1970 on a capped page must not make the unread window end in 1970."""
    page = load_json("bluesky", "search_page2.json")
    page["posts"][1]["record"]["createdAt"] = "1970-01-01T00:00:00.000Z"
    page["posts"][1]["indexedAt"] = "1970-01-01T00:00:00.000Z"
    page["cursor"] = "more"
    api = api_with_login(Canned.json(page))
    with api.client() as client:
        result = make_source(max_pages=1).poll(client, None, NOW)
    window = json.loads(result.cursor or "")["terms"]["Acme"]
    assert window["until"] == "2026-11-26T07:20:00.000Z"


def test_multi_word_terms_are_phrase_searches() -> None:
    api = api_with_login(Canned.payload("bluesky", "search_empty.json"))
    with api.client() as client:
        make_source(query=["Acme Cloud", "acme.example"]).poll(client, None, NOW)
    assert [r.param("q") for r in api.requests_to(SEARCH)] == ['"Acme Cloud"', "acme.example"]


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned.json({"error": "InvalidRequest", "message": "bad q"}, 400), "InvalidRequest"),
        (Canned.json({"error": "AuthMissing"}, 401), "check your token"),
        (Canned.json({"error": "InternalServerError"}, 500), "server error 500"),
        (Canned.html_error(502), "server error 502"),
        (Canned.html_error(200), "expected JSON"),
        (Canned.json({"hitsTotal": 0}, 200), "no 'posts' list"),
    ],
)
def test_failures_raise_source_error_naming_the_source(canned: Canned, message: str) -> None:
    api = api_with_login(canned)
    with api.client() as client, pytest.raises(SourceError, match=message) as raised:
        make_source(name="bsky").poll(client, None, NOW)
    assert raised.value.source == "bsky"


def test_timeout_is_a_source_error() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    client = httpx.Client(transport=httpx.MockTransport(time_out), timeout=5)
    with client, pytest.raises(SourceError, match="timed out"):
        make_source().poll(client, None, NOW)


def test_settings_problems() -> None:
    settings = BlueskySettings(type="bluesky", limit=500, query=[])
    assert {key for key, _ in settings.problems()} == {"limit", "query"}
    assert BlueskySettings(type="bluesky").problems() == []


def test_over_a_real_loopback_server() -> None:
    api = api_with_login(Canned.payload("bluesky", "search_page2.json"))
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        settings = BlueskySettings(type="bluesky", base_url=base_url + "xrpc")
        result = BlueskySource(settings, TOPIC, environ=ENV).poll(client, None, NOW)
    assert len(result.mentions) == 2
    login, search = api.requests
    assert login.headers["content-type"] == "application/json"
    assert login.json()["identifier"] == HANDLE
    assert bearer(search) == SESSION["accessJwt"]
