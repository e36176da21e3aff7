"""Facebook Page and Instagram sources against recorded Graph API payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.meta import (
    FacebookPageSettings,
    FacebookPageSource,
    InstagramSettings,
    InstagramSource,
)
from tests.sources_support import Canned, FakeAPI, load_json

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOKEN = "EAAGm0PX4ZCpsBAtest-page-token"
PAGE = "104729381456789"
POST1 = "104729381456789_987654321012345"
POST2 = "104729381456789_987650000054321"
POSTS = f"/v21.0/{PAGE}/posts"
COMMENTS1 = f"/v21.0/{POST1}/comments"
COMMENTS2 = f"/v21.0/{POST2}/comments"
PAGE2_AFTER = load_json("meta", "fb_comments_page1.json")["paging"]["cursors"]["after"]
IG_ACCOUNT = "17841405822304914"
IG_MEDIA = "18034567890123456"
TOPIC = TopicTerms(name="acme", terms=["Acme"], languages=["de", "en"])


@pytest.fixture(autouse=True)
def page_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", TOKEN)


def facebook(**overrides: Any) -> FacebookPageSource:
    settings = FacebookPageSettings(
        type="facebook", base_url="https://graph.facebook.test/v21.0/", page_id=PAGE, **overrides
    )
    return FacebookPageSource(settings, TOPIC)


def instagram(**overrides: Any) -> InstagramSource:
    settings = InstagramSettings(
        type="instagram",
        base_url="https://graph.facebook.test/v21.0/",
        account_id=IG_ACCOUNT,
        **overrides,
    )
    return InstagramSource(settings, TOPIC)


def page_api(*post1_comments: Canned) -> FakeAPI:
    api = FakeAPI()
    api.add("GET", POSTS, Canned.payload("meta", "fb_posts.json"))
    api.add(
        "GET", COMMENTS1, *(post1_comments or [Canned.payload("meta", "fb_comments_page1.json")])
    )
    api.add(
        "GET",
        COMMENTS1,
        Canned.payload("meta", "fb_comments_page2.json"),
        query={"after": PAGE2_AFTER},
    )
    api.add("GET", COMMENTS2, Canned.payload("meta", "fb_comments_post2.json"))
    return api


def graph_error(name: str, status: int = 400, headers: dict[str, str] | None = None) -> FakeAPI:
    api = FakeAPI()
    api.add("GET", POSTS, Canned.payload("meta", name, status=status, headers=headers))
    return api


def test_registry_names_these_classes() -> None:
    assert source_class("facebook") is FacebookPageSource
    assert source_class("instagram") is InstagramSource


def test_first_poll_reads_new_comments_under_the_recent_posts() -> None:
    api = page_api()
    with api.client() as client:
        result = facebook().poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [
        "987654321012345_1290384756102938",
        "987654321012345_1290384756100011",
        "987654321012345_1290384756099887",
        "987654321012345_1290384756098001",  # page 2; the comment after it is older than lookback
        "987650000054321_4455667788990011",
    ]
    posts = api.requests_to(POSTS)[0]
    assert posts.param("fields") == "id,created_time,permalink_url"
    assert posts.param("limit") == "10"
    assert posts.param("since") == str(int((NOW - timedelta(days=14)).timestamp()))
    comments = api.requests_to(COMMENTS1)
    assert comments[0].param("filter") == "stream"
    assert comments[0].param("order") == "reverse_chronological"
    assert comments[0].param("since") == str(int((NOW - timedelta(hours=1)).timestamp()))
    assert comments[1].param("after") == PAGE2_AFTER
    # The token travels in a header, never in a URL that might be logged.
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert all(r.param("access_token") is None for r in api.requests)
    assert result.truncated is False
    assert json.loads(result.cursor or "") == {
        "posts": {
            POST1: {"newest": "2026-11-26T07:58:30+00:00"},
            POST2: {"newest": "2026-11-26T07:40:00+00:00"},
        }
    }


def test_comments_become_mentions_with_author_counters_and_link() -> None:
    api = page_api()
    with api.client() as client:
        mentions = facebook().poll(client, None, NOW).mentions

    first = mentions[0]
    assert first.source == "facebook"
    assert first.text == "Drei Tage keine Info zum Datenleck?! Ich kündige."
    assert first.created_at == datetime(2026, 11, 26, 7, 58, 30, tzinfo=UTC)
    assert first.author == "Katrin Vogel"
    assert first.lang is None
    assert first.engagement == {"likes": 41, "replies": 6}
    assert first.url == (
        "https://www.facebook.com/104729381456789/posts/987654321012345?comment_id=1290384756102938"
    )
    sticker_only = mentions[2]
    assert sticker_only.text == ""  # no message (a sticker or photo) still counts as volume
    assert sticker_only.author is None


def test_page_cap_truncates_and_the_next_poll_continues_after_the_cursor() -> None:
    api = page_api()
    source = facebook(max_pages=1)
    with api.client() as client:
        first = source.poll(client, None, NOW)
        assert first.truncated is True
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    resumed = api.requests_to(COMMENTS1)[1]
    assert resumed.param("after") == PAGE2_AFTER
    # Still the original window, not the time of the newest comment seen.
    assert resumed.param("since") == str(int((NOW - timedelta(hours=1)).timestamp()))
    assert "987654321012345_1290384756098001" in {m.id for m in second.mentions}
    assert second.truncated is False
    assert json.loads(second.cursor or "")["posts"][POST1] == {
        "newest": "2026-11-26T07:58:30+00:00"
    }


def test_a_refused_paging_cursor_reads_the_gap_again_from_the_newest() -> None:
    api = page_api()
    refused = {"error": {"message": "(#100) Invalid cursor", "type": "OAuthException",
                         "code": 100, "fbtrace_id": "F4gH7jK1lZ5xC8vB2nM6qWe"}}  # fmt: skip
    api.add("GET", COMMENTS1, Canned.json(refused, 400), query={"after": "stale"})
    cursor = json.dumps(
        {"posts": {POST1: {"after": "stale", "until": "2026-11-26T07:00:00+00:00",
                           "top": "2026-11-26T07:58:30+00:00"}}}
    )  # fmt: skip
    with api.client() as client:
        result = facebook(posts=1).poll(client, cursor, NOW)

    assert [r.param("after") for r in api.requests_to(COMMENTS1)] == ["stale", None, PAGE2_AFTER]
    assert len(result.mentions) == 4
    assert json.loads(result.cursor or "")["posts"][POST1] == {
        "newest": "2026-11-26T07:58:30+00:00"
    }


def test_next_poll_asks_only_for_comments_since_the_newest_seen() -> None:
    api = page_api(Canned.payload("meta", "fb_comments_empty.json"))
    cursor = json.dumps(
        {
            "posts": {
                POST1: {"newest": "2026-11-26T07:58:30+00:00"},
                # A post that is no longer among the recent ones is forgotten.
                "104729381456789_900000000000001": {"newest": "2026-11-01T10:00:00+00:00"},
            }
        }
    )
    with api.client() as client:
        result = facebook().poll(client, cursor, NOW + timedelta(minutes=2))

    since = datetime(2026, 11, 26, 7, 58, 30, tzinfo=UTC).timestamp()
    assert api.requests_to(COMMENTS1)[0].param("since") == str(int(since))
    assert [m.id for m in result.mentions] == ["987650000054321_4455667788990011"]
    assert set(json.loads(result.cursor or "")["posts"]) == {POST1, POST2}
    assert json.loads(result.cursor or "")["posts"][POST1] == {
        "newest": "2026-11-26T07:58:30+00:00"
    }


def test_malformed_comments_are_skipped_and_counted() -> None:
    api = page_api(Canned.payload("meta", "fb_comments_mixed.json"))
    with api.client() as client:
        result = facebook(posts=1).poll(client, None, NOW)

    assert [m.id for m in result.mentions] == [
        "987654321012345_1290384756102938", "987654321012345_1290384756098001"
    ]  # fmt: skip
    assert result.skipped == 4
    last = result.mentions[1]
    assert last.author is None and last.engagement == {}
    assert last.url == "https://www.facebook.com/104729381456789/posts/987654321012345"


def test_a_posts_response_without_data_is_an_error() -> None:
    api = FakeAPI()
    api.add("GET", POSTS, Canned.json({"paging": {}}))
    with api.client() as client, pytest.raises(SourceError, match="no data"):
        facebook().poll(client, None, NOW)


def test_expired_token_says_which_variable_to_renew_and_not_the_token() -> None:
    api = graph_error("token_expired.json")
    with api.client() as client, pytest.raises(SourceError) as caught:
        facebook().poll(client, None, NOW)

    message = str(caught.value)
    assert "token expired or invalid; check FACEBOOK_PAGE_TOKEN" in message
    assert "A3kZ9xQ1bV7mN2pR4sT6uWy" in message  # fbtrace_id, for Meta support
    assert TOKEN not in message


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBOOK_PAGE_TOKEN")
    api = FakeAPI()
    with api.client() as client, pytest.raises(SourceError, match="set FACEBOOK_PAGE_TOKEN"):
        facebook().poll(client, None, NOW)
    assert api.requests == []


def test_page_rate_limit_waits_as_long_as_graph_estimates() -> None:
    usage = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 34,
                     "total_time": 41, "estimated_time_to_regain_access": 19}]}  # fmt: skip
    api = graph_error(
        "page_rate_limited.json", headers={"x-business-use-case-usage": json.dumps(usage)}
    )
    with api.client() as client, pytest.raises(SourceError) as caught:
        facebook().poll(client, None, NOW)

    assert caught.value.retry_after == timedelta(minutes=19)
    assert "code 32" in str(caught.value)


def test_app_rate_limit_without_estimate_waits_the_default() -> None:
    usage = {"call_count": 100, "total_time": 12, "total_cputime": 9}
    api = graph_error("app_rate_limited.json", 403, {"x-app-usage": json.dumps(usage)})
    with api.client() as client, pytest.raises(SourceError) as caught:
        facebook().poll(client, None, NOW)

    assert caught.value.retry_after == timedelta(minutes=15)


def test_usage_is_reported_as_rate_limit_state() -> None:
    usage = {"call_count": 28, "total_time": 25, "total_cputime": 7}
    api = FakeAPI()
    api.add("GET", POSTS, Canned.json({"data": []}, headers={"x-app-usage": json.dumps(usage)}))
    with api.client() as client:
        result = facebook().poll(client, None, NOW)

    assert result.mentions == []
    assert result.rate_limit == "Graph usage at 28% of the limit"


def test_missing_permission_is_a_clear_error() -> None:
    api = graph_error("permission_missing.json", 403)
    with api.client() as client, pytest.raises(SourceError) as caught:
        facebook().poll(client, None, NOW)

    assert "permission missing (code 10)" in str(caught.value)
    assert "pages_read_engagement" in str(caught.value)


def test_unauthorized_without_a_graph_body_is_an_access_error() -> None:
    api = FakeAPI()
    api.add("GET", POSTS, Canned(401, b"Unauthorized", {"content-type": "text/plain"}))
    with api.client() as client, pytest.raises(SourceError, match=r"401 .*access denied"):
        facebook().poll(client, None, NOW)


def test_server_error_fails_the_poll() -> None:
    api = graph_error("server_error.json", 500)
    with api.client() as client, pytest.raises(SourceError, match="server error 500"):
        facebook().poll(client, None, NOW)


def test_html_page_with_status_200_fails_the_poll() -> None:
    api = FakeAPI()
    api.add("GET", POSTS, Canned.html_error(200))
    with api.client() as client, pytest.raises(SourceError, match="expected JSON"):
        facebook().poll(client, None, NOW)


def test_instagram_reads_comments_under_recent_media() -> None:
    api = FakeAPI()
    api.add("GET", f"/v21.0/{IG_ACCOUNT}/media", Canned.payload("meta", "ig_media.json"))
    api.add("GET", f"/v21.0/{IG_MEDIA}/comments", Canned.payload("meta", "ig_comments.json"))
    with api.client() as client:
        result = instagram(posts=5).poll(client, None, NOW)

    media = api.requests[0]
    assert media.param("fields") == "id,timestamp,permalink"
    assert media.param("limit") == "5"
    comments = api.requests[1]
    assert comments.param("fields") == "id,text,timestamp,username,like_count"
    # The page ends in a comment older than the lookback: no need for the next page.
    assert len(api.requests) == 2
    assert [m.id for m in result.mentions] == ["17985432109876543", "17985432109870000"]
    first = result.mentions[0]
    assert first.source == "instagram"
    assert first.text == "Eure App ist seit gestern kaputt und keiner antwortet 😡"
    assert first.author == "lisa.kocht"
    assert first.engagement == {"likes": 28}
    assert first.url == "https://www.instagram.com/p/DCx7kLmN4pQ/"
    assert json.loads(result.cursor or "") == {
        "posts": {IG_MEDIA: {"newest": "2026-11-26T07:59:02+00:00"}}
    }


def test_settings_check_the_number_of_posts() -> None:
    assert FacebookPageSettings(type="facebook", page_id=PAGE, posts=0).problems() == [
        ("posts", "must be between 1 and 100")
    ]
    assert InstagramSettings(type="instagram", account_id=IG_ACCOUNT).problems() == []


def test_poll_over_a_real_loopback_server() -> None:
    api = page_api()
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        settings = FacebookPageSettings(
            type="facebook", name="fb-page", base_url=base_url + "v21.0/", page_id=PAGE
        )
        result = FacebookPageSource(settings, TOPIC).poll(client, None, NOW)

    assert len(result.mentions) == 5
    assert {m.source for m in result.mentions} == {"fb-page"}
    assert "kündige" in result.mentions[0].text
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
