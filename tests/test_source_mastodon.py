"""Mastodon source against recorded hashtag-timeline and notification payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.sources import source_class
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.mastodon import MastodonSettings, MastodonSource
from tests.sources_support import Canned, FakeAPI

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
INSTANCE = "https://mastodon.test"
TAG = "/api/v1/timelines/tag/acme"
NOTIFICATIONS = "/api/v1/notifications"
TOPIC = TopicTerms(name="acme", terms=["Acme", "#acme", "@acme"], languages=["de", "en"])
TOKEN = "tok-3c1f9e"

# Status ids in the payloads (Mastodon snowflakes), newest first per file.
NEWEST_PAGE = ("117681665605632003", "117681530142720001")  # tag_newest.json: first, last
FORWARD1_NEWEST = "117681702174720002"
FORWARD2_NEWEST = "117681708072960000"


def links(path: str, *, prev_min: str | None = None, next_max: str | None = None) -> dict[str, str]:
    """A Link header as Mastodon writes it."""
    parts = []
    if next_max:
        parts.append(f'<{INSTANCE}{path}?limit=3&max_id={next_max}>; rel="next"')
    if prev_min:
        parts.append(f'<{INSTANCE}{path}?limit=3&min_id={prev_min}>; rel="prev"')
    return {"Link": ", ".join(parts)} if parts else {}


def make_source(
    topic: TopicTerms = TOPIC, environ: dict[str, str] | None = None, **overrides: Any
) -> MastodonSource:
    overrides.setdefault("limit", 3)
    settings = MastodonSettings(type="mastodon", instance=INSTANCE, **overrides)
    return MastodonSource(settings, topic, environ=environ if environ is not None else {})


def cursor_for(min_id: str) -> str:
    return json.dumps({"tag": {"name": "acme", "min_id": min_id}})


def test_registry_names_this_class() -> None:
    assert source_class("mastodon") is MastodonSource


def test_first_poll_walks_back_to_the_lookback() -> None:
    api = FakeAPI()
    api.add(
        "GET",
        TAG,
        Canned.payload(
            "mastodon",
            "tag_newest.json",
            headers=links(TAG, prev_min=NEWEST_PAGE[0], next_max=NEWEST_PAGE[1]),
        ),
    )
    api.add(
        "GET",
        TAG,
        Canned.payload(
            "mastodon",
            "tag_older.json",
            headers=links(TAG, prev_min="117681468211200000", next_max="117681330585600000"),
        ),
        query={"max_id": NEWEST_PAGE[1]},
    )
    with api.client() as client:
        result = make_source().poll(client, None, NOW)

    # The 06:30 post lies before the lookback; the walk stops at the page that reached it.
    assert [m.author for m in result.mentions] == [
        "devops_dan@hachyderm.io", "cleo@norden.social", "ben", "anna@chaos.social"
    ]  # fmt: skip
    assert len(api.requests) == 2
    assert result.skipped == 0
    anna = result.mentions[-1]
    assert anna.id == NEWEST_PAGE[0]
    assert anna.source == "mastodon"
    assert anna.text == (
        "Seit drei Tagen kein Zugriff auf meine Daten bei #Acme. Der Support antwortet nicht. "
        "Unfassbar."
    )
    assert anna.lang == "de"
    assert anna.url == f"https://chaos.social/@anna/{NEWEST_PAGE[0]}"
    assert anna.created_at == datetime(2026, 11, 26, 7, 55, 12, tzinfo=UTC)
    assert anna.engagement == {"likes": 30, "reposts": 12, "replies": 4, "followers": 812}
    ben = result.mentions[2]
    assert (
        ben.text == "Is anyone else's #acme backup gone? https://status.acme.example/incidents/881"
    )
    cleo = result.mentions[1]
    assert cleo.text.splitlines() == [
        "Acme outage, long",  # the content warning comes first
        "Thread 🧵 about what went wrong at #acme",
        "1/ They had no offsite backups.",
    ]
    assert json.loads(result.cursor or "") == {"tag": {"name": "acme", "min_id": NEWEST_PAGE[0]}}
    assert api.requests[0].param("limit") == "3"
    assert "authorization" not in api.requests[0].headers
    assert not result.truncated


def test_next_poll_pages_forward_from_min_id() -> None:
    api = FakeAPI()
    api.add(
        "GET",
        TAG,
        Canned.payload(
            "mastodon", "tag_forward1.json", headers=links(TAG, prev_min=FORWARD1_NEWEST)
        ),
        query={"min_id": NEWEST_PAGE[0]},
    )
    api.add(
        "GET",
        TAG,
        Canned.payload(
            "mastodon", "tag_forward2.json", headers=links(TAG, prev_min=FORWARD2_NEWEST)
        ),
        query={"min_id": FORWARD1_NEWEST},
    )
    with api.client() as client:
        result = make_source().poll(client, cursor_for(NEWEST_PAGE[0]), NOW + timedelta(minutes=7))

    assert [m.id for m in result.mentions] == [
        "117681688412160005", "117681692999680000", FORWARD1_NEWEST, FORWARD2_NEWEST
    ]  # fmt: skip
    assert result.mentions[0].text == "Status page for #acme still green <facepalm>"
    assert [r.param("min_id") for r in api.requests] == [NEWEST_PAGE[0], FORWARD1_NEWEST]
    assert json.loads(result.cursor or "")["tag"]["min_id"] == FORWARD2_NEWEST
    assert not result.truncated


def test_page_cap_moves_min_id_and_the_next_poll_continues() -> None:
    api = FakeAPI()
    api.add(
        "GET",
        TAG,
        Canned.payload(
            "mastodon", "tag_forward1.json", headers=links(TAG, prev_min=FORWARD1_NEWEST)
        ),
        query={"min_id": NEWEST_PAGE[0]},
    )
    api.add("GET", TAG, Canned.json([]), query={"min_id": FORWARD1_NEWEST})
    source = make_source(max_pages=1)
    with api.client() as client:
        first = source.poll(client, cursor_for(NEWEST_PAGE[0]), NOW)
        second = source.poll(client, first.cursor, NOW + timedelta(minutes=1))

    assert first.truncated
    assert len(first.mentions) == 3
    assert json.loads(first.cursor or "")["tag"]["min_id"] == FORWARD1_NEWEST
    assert second.mentions == []
    assert not second.truncated
    assert second.cursor == first.cursor  # an empty page keeps the position
    assert api.requests[-1].param("min_id") == FORWARD1_NEWEST


def test_account_mentions_with_a_token() -> None:
    api = FakeAPI()
    api.add(
        "GET",
        NOTIFICATIONS,
        Canned.payload(
            "mastodon",
            "notifications.json",
            headers=links(NOTIFICATIONS, prev_min="34975861", next_max="34975100")
            | {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "297",
               "X-RateLimit-Reset": "2026-11-26T08:05:00.000Z"},
        ),
    )  # fmt: skip
    api.add("GET", NOTIFICATIONS, Canned.json([]), query={"max_id": "34975100"})
    source = make_source(tag="", mentions=True, environ={"MASTODON_TOKEN": TOKEN})
    with api.client() as client:
        result = source.poll(client, None, NOW)

    assert [m.author for m in result.mentions] == ["cleo@norden.social", "anna@chaos.social"]
    assert result.mentions[1].text == "@acme wann ist mein Account wieder da?"
    assert result.skipped == 1  # the notification whose status was deleted
    request = api.requests[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.query["types[]"] == ["mention"]
    assert json.loads(result.cursor or "") == {"mentions": {"min_id": "34975861"}}
    assert result.rate_limit == "297 of 300 requests left, resets 2026-11-26T08:05:00.000Z"
    # The page was full and its oldest notification inside the lookback: one more page back.
    assert [r.param("max_id") for r in api.requests] == [None, "34975100"]


def test_tag_and_mentions_keep_separate_cursor_parts(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    api = FakeAPI()
    api.add("GET", TAG, Canned.payload("mastodon", "tag_forward2.json"))
    api.add("GET", NOTIFICATIONS, Canned.json([]))
    source = make_source(mentions=True, environ={"MASTODON_TOKEN_FILE": str(secret)})
    cursor = json.dumps({"tag": {"name": "acme", "min_id": "1"}, "mentions": {"min_id": "9"}})
    with api.client() as client:
        result = source.poll(client, cursor, NOW)

    assert [m.id for m in result.mentions] == [FORWARD2_NEWEST]
    assert json.loads(result.cursor or "") == {
        "tag": {"name": "acme", "min_id": FORWARD2_NEWEST},
        "mentions": {"min_id": "9"},
    }
    assert api.requests_to(TAG)[0].param("min_id") == "1"
    assert api.requests_to(NOTIFICATIONS)[0].param("min_id") == "9"
    # With a token configured the hashtag timeline is read as that user too (some instances
    # require login for public timelines).
    assert api.requests_to(TAG)[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_mentions_without_a_token_name_the_variable() -> None:
    source = make_source(tag="", mentions=True, environ={})
    with FakeAPI().client() as client, pytest.raises(SourceError, match="set MASTODON_TOKEN"):
        source.poll(client, None, NOW)


def test_a_changed_tag_starts_again_from_the_lookback() -> None:
    api = FakeAPI()
    api.add("GET", "/api/v1/timelines/tag/acmefail", Canned.json([]))
    source = make_source(tag="#AcmeFail".lower())
    with api.client() as client:
        result = source.poll(client, cursor_for(NEWEST_PAGE[0]), NOW)
    assert api.requests[0].param("min_id") is None
    assert result.cursor == "{}"


def test_more_topic_hashtags_are_asked_for_with_any() -> None:
    api = FakeAPI()
    api.add("GET", TAG, Canned.json([]))
    topic = TopicTerms(name="acme", terms=["#acme", "#AcmeFail", "#acme_cloud"])
    with api.client() as client:
        make_source(topic).poll(client, None, NOW)
    assert api.requests[0].query["any[]"] == ["AcmeFail", "acme_cloud"]


def test_a_topic_without_hashtag_follows_its_first_term_as_one() -> None:
    api = FakeAPI()
    api.add("GET", "/api/v1/timelines/tag/AcmeCloud", Canned.json([]))
    with api.client() as client:
        make_source(TopicTerms(name="acme", terms=["Acme Cloud", "Acme"])).poll(client, None, NOW)
    assert api.requests[0].path == "/api/v1/timelines/tag/AcmeCloud"


def test_following_nothing_is_refused() -> None:
    source = make_source(TopicTerms(name="acme", terms=["--"]))
    with FakeAPI().client() as client, pytest.raises(SourceError, match="no hashtag to follow"):
        source.poll(client, None, NOW)
    assert [key for key, _ in MastodonSettings(type="mastodon", tag="").problems()] == ["tag"]
    assert MastodonSettings(type="mastodon", tag="", mentions=True).problems() == []
    assert MastodonSettings(type="mastodon", limit=80).problems()[0][0] == "limit"


def test_malformed_statuses_are_skipped_and_counted() -> None:
    api = FakeAPI()
    api.add("GET", TAG, Canned.payload("mastodon", "tag_mixed.json"))
    with api.client() as client:
        result = make_source(limit=40).poll(client, cursor_for("1"), NOW)
    assert [m.id for m in result.mentions] == ["117681688412160005", FORWARD2_NEWEST]
    assert result.skipped == 4


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned.json({"error": "The access token is invalid"}, 401), "check your token"),
        (Canned.json({"error": "This method requires an authenticated user"}, 422), "HTTP 422"),
        (Canned.html_error(502), "server error 502"),
        (Canned.html_error(200), "expected JSON"),
        (Canned.json({"error": "Record not found"}, 200), "expected a list"),
    ],
)
def test_failures_raise_source_error_naming_the_source(canned: Canned, message: str) -> None:
    api = FakeAPI()
    api.add("GET", TAG, canned)
    with api.client() as client, pytest.raises(SourceError, match=message) as raised:
        make_source(name="fedi").poll(client, None, NOW)
    assert raised.value.source == "fedi"


def test_rate_limit_waits_until_the_reset() -> None:
    api = FakeAPI()
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-26T08:03:30.000Z"}
    api.add("GET", TAG, Canned.json({"error": "Too many requests"}, 429, headers))
    with api.client() as client, pytest.raises(SourceError, match="429") as raised:
        make_source().poll(client, None, NOW)
    assert raised.value.retry_after == timedelta(minutes=3, seconds=30)


def test_timeouts_and_connection_errors_are_source_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse), timeout=5)
    with client, pytest.raises(SourceError, match="ConnectError"):
        make_source().poll(client, None, NOW)


def test_over_a_real_loopback_server() -> None:
    api = FakeAPI()
    api.add("GET", "/api/v1/timelines/tag/acme", Canned.payload("mastodon", "tag_forward2.json"))
    with api.serve() as base_url, httpx.Client(timeout=5) as client:
        source = make_source(base_url=base_url + "api/v1", environ={"MASTODON_TOKEN": TOKEN})
        result = source.poll(client, cursor_for("1"), NOW)
    assert [m.id for m in result.mentions] == [FORWARD2_NEWEST]
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert api.requests[0].param("min_id") == "1"
