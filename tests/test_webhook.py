"""Webhook ingest: signed requests over the real HTTP server, and the replay-format parser."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor import metrics
from monitor.models import Mention
from monitor.runtime.http import HttpServer
from monitor.sources.webhook import make_ingest_handler, sign, verify
from monitor.sources.webhook_payload import (
    MAX_ITEMS,
    PayloadError,
    parse_mention,
    parse_mention_with_topic,
    parse_mentions,
)

SECRET = "acme-webhook-secret"
JSON = "application/json"


class FakeStore:
    """Stores mentions idempotently on (source, id), like the real store."""

    def __init__(self) -> None:
        self.mentions: dict[tuple[str, str, str], Mention] = {}

    def store(self, topic: str, mentions: list[Mention]) -> int:
        new = 0
        for mention in mentions:
            key = (topic, mention.source, mention.id)
            if key not in self.mentions:
                self.mentions[key] = mention
                new += 1
        return new


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # One client for the module: building its TLS context costs more than a loopback request.
    with httpx.Client() as shared:
        yield shared


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def server(store: FakeStore) -> Iterator[HttpServer]:
    secrets = {"acme": SECRET}
    app = HttpServer("127.0.0.1:0", max_body=4096)
    app.route("POST", "/ingest/{topic}", make_ingest_handler(secrets.get, store.store))
    app.start()
    try:
        yield app
    finally:
        app.stop()


def mention(mention_id: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "id": mention_id,
        "source": "zapier",
        "created_at": "2026-11-26T07:00:00Z",
        "text": "Die Bahn ist schon wieder zu spät",
        **extra,
    }


def post(
    client: httpx.Client,
    server: HttpServer,
    body: bytes,
    *,
    topic: str = "acme",
    secret: str | None = SECRET,
    content_type: str = JSON,
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers["X-Shitstorm-Signature"] = sign(secret, body)
    return client.post(f"{server.url}/ingest/{topic}", content=body, headers=headers)


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- over HTTP ----------------------------------------------------------------------------------


def test_a_signed_mention_is_accepted_and_stored(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    body = encode(mention(lang="de", engagement={"likes": 3}, url="https://x.example/1"))
    response = post(client, server, body)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "new": 1}
    stored = store.mentions["acme", "zapier", "1"]
    assert stored.created_at == datetime(2026, 11, 26, 7, tzinfo=UTC)
    assert stored.text == "Die Bahn ist schon wieder zu spät"
    assert stored.lang == "de"
    assert stored.url == "https://x.example/1"
    assert dict(stored.engagement) == {"likes": 3}


def test_a_resent_array_is_idempotent(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    body = encode([mention("1"), mention("2"), mention("3", source="script")])
    assert post(client, server, body).json() == {"accepted": 3, "new": 3}
    assert post(client, server, body).json() == {"accepted": 3, "new": 0}
    assert len(store.mentions) == 3


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha1=abc", f"sha256={'0' * 64}", "sha256=not-hex-at-all"],
)
def test_a_bad_or_missing_signature_is_401(
    client: httpx.Client, server: HttpServer, store: FakeStore, signature: str | None
) -> None:
    headers = {"Content-Type": JSON}
    if signature is not None:
        headers["X-Shitstorm-Signature"] = signature
    response = client.post(f"{server.url}/ingest/acme", content=encode(mention()), headers=headers)
    assert response.status_code == 401
    assert "X-Shitstorm-Signature" in response.json()["error"]
    assert store.mentions == {}


def test_a_signature_with_another_secret_is_401_and_not_logged(
    client: httpx.Client, server: HttpServer, store: FakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(mention())
    with caplog.at_level(logging.DEBUG):
        response = post(client, server, body, secret="guessed")
    assert response.status_code == 401
    assert store.mentions == {}
    assert "bad signature" in caplog.text
    assert sign("guessed", body) not in caplog.text
    assert SECRET not in caplog.text


def test_a_body_changed_after_signing_is_401(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    body = encode(mention())
    headers = {"Content-Type": JSON, "X-Shitstorm-Signature": sign(SECRET, body)}
    tampered = body.replace(b"zu sp", b"nie sp")
    response = client.post(f"{server.url}/ingest/acme", content=tampered, headers=headers)
    assert response.status_code == 401
    assert store.mentions == {}


def test_an_unknown_topic_is_404(client: httpx.Client, server: HttpServer) -> None:
    response = post(client, server, encode(mention()), topic="other")
    assert response.status_code == 404
    assert "other" in response.json()["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_non_json_content_type_is_415(
    client: httpx.Client, server: HttpServer, store: FakeStore, content_type: str
) -> None:
    response = post(client, server, encode(mention()), content_type=content_type)
    assert response.status_code == 415
    assert store.mentions == {}


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/ld+json"])
def test_json_content_types_with_parameters_or_suffix_are_accepted(
    client: httpx.Client, server: HttpServer, content_type: str
) -> None:
    assert post(client, server, encode(mention()), content_type=content_type).status_code == 202


def test_an_oversized_body_is_413_and_not_stored(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    body = encode([mention(str(n)) for n in range(100)])
    assert len(body) > 4096
    response = post(client, server, body)
    assert response.status_code == 413
    assert store.mentions == {}


def test_one_bad_item_rejects_the_whole_request(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    body = encode([mention("1"), {"id": "2", "source": "zapier", "text": "no time"}])
    response = post(client, server, body)
    assert response.status_code == 400
    assert response.json() == {"error": "item 1: 'created_at' is missing"}
    assert store.mentions == {}


def test_malformed_json_is_400_with_the_position(client: httpx.Client, server: HttpServer) -> None:
    response = post(client, server, b'{"id": "1",')
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON:")
    assert "line 1 column 12" in response.json()["error"]


def test_an_item_for_another_topic_is_400(
    client: httpx.Client, server: HttpServer, store: FakeStore
) -> None:
    response = post(
        client, server, encode([mention("1", topic="acme"), mention("2", topic="rival")])
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "item 1: 'topic' is 'rival' but this endpoint ingests 'acme'"
    )
    assert store.mentions == {}


def test_statuses_are_counted(client: httpx.Client, server: HttpServer) -> None:
    def count(status: str) -> float:
        value = metrics.REGISTRY.get_sample_value(
            "shitstorm_webhook_requests_total", {"status": status}
        )
        return value or 0.0

    before = count("202"), count("401")
    post(client, server, encode(mention()))
    post(client, server, encode(mention()), secret=None)
    assert (count("202"), count("401")) == (before[0] + 1, before[1] + 1)


# --- signatures ---------------------------------------------------------------------------------


def test_verify_accepts_the_signature_in_either_case() -> None:
    header = sign(SECRET, b"body")
    assert verify(SECRET, b"body", header)
    assert verify(SECRET, b"body", header.upper().replace("SHA256=", "sha256="))
    assert verify(SECRET, b"body", f"  {header} ")


@pytest.mark.parametrize(
    ("secret", "header"),
    [
        ("", sign("", b"body")),  # an unset secret must not open the door
        (SECRET, None),
        (SECRET, sign(SECRET, b"body")[len("sha256=") :]),  # the prefix is required
        (SECRET, sign(SECRET, b"other body")),
        (SECRET, sign(SECRET, b"body") + "00"),
        (SECRET, "sha256=ÿÿ"),
    ],
)
def test_verify_rejects(secret: str, header: str | None) -> None:
    assert verify(secret, b"body", header) is False


# --- the replay-format parser -------------------------------------------------------------------


def test_parse_mention_fills_every_field() -> None:
    parsed, topic = parse_mention_with_topic(
        {
            "id": 1234567890123,
            "source": "mastodon",
            "created_at": "2026-11-26T08:30:00+01:00",
            "text": "Shitstorm!",
            "lang": "de",
            "author": "@someone",
            "url": "https://social.example/@someone/1",
            "topic": "acme",
            "engagement": {"reblogs": 4, "favourites": 0},
            "unknown_extra": {"ignored": True},
        },
        "line 1",
    )
    assert parsed == Mention(
        source="mastodon",
        id="1234567890123",
        created_at=datetime(2026, 11, 26, 7, 30, tzinfo=UTC),
        text="Shitstorm!",
        lang="de",
        author="@someone",
        url="https://social.example/@someone/1",
        engagement={"reblogs": 4, "favourites": 0},
    )
    assert topic == "acme"


def test_optional_fields_may_be_null_or_empty() -> None:
    parsed = parse_mention(
        {
            "id": "a",
            "source": "rss",
            "created_at": "2026-11-26T07:00:00+00:00",
            "text": "",
            "lang": None,
            "author": "",
            "engagement": None,
        },
        "line 1",
    )
    assert (parsed.text, parsed.lang, parsed.author, dict(parsed.engagement)) == (
        "",
        None,
        None,
        {},
    )


def bad(**changes: Any) -> dict[str, Any]:
    return {**mention(), **changes}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in mention().items() if k != key}


NON_NEGATIVE = "must be a non-negative integer"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1], "expected a mention object, got an array"),
        (bad(id=True), "'id' must be a non-empty string or an integer, got True"),
        (bad(id="  "), "'id' must be a non-empty string or an integer, got '  '"),
        (bad(id="x" * 300), "'id' is longer than 256 characters"),
        (without("id"), "'id' is missing"),
        (without("source"), "'source' is missing"),
        (bad(source=5), "'source' must be a non-empty string, got 5"),
        (without("text"), "'text' is missing"),
        (bad(text=None), "'text' must be a string, got null"),
        (without("created_at"), "'created_at' is missing"),
        (bad(created_at=1700000000), "'created_at' must be an ISO 8601 string, got 1700000000"),
        (
            bad(created_at="yesterday"),
            "'created_at' 'yesterday' is not an ISO 8601 time (like 2026-11-26T07:00:00Z)",
        ),
        (
            bad(created_at="2026-11-26T07:00:00"),
            "'created_at' '2026-11-26T07:00:00' has no UTC offset (add 'Z' or '+01:00')",
        ),
        (bad(lang=["de"]), "'lang' must be a string or null, got an array"),
        (bad(topic=1), "'topic' must be a string or null, got 1"),
        (bad(engagement=[1]), "'engagement' must be an object of integers, got an array"),
        (bad(engagement={"likes": "3"}), f"'engagement.likes' {NON_NEGATIVE}, got '3'"),
        (bad(engagement={"likes": -1}), f"'engagement.likes' {NON_NEGATIVE}, got -1"),
        (bad(engagement={"likes": 1.5}), f"'engagement.likes' {NON_NEGATIVE}, got 1.5"),
        (bad(engagement={"likes": True}), f"'engagement.likes' {NON_NEGATIVE}, got True"),
    ],
)
def test_parse_mention_names_the_line_and_field(obj: Any, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_mention(obj, "line 3")
    assert caught.value.reason == f"line 3: {reason}"


def test_a_long_bad_value_is_shortened_in_the_reason() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_mention(bad(created_at="x" * 500), "line 1")
    assert len(caught.value.reason) < 200


def test_parse_mentions_accepts_a_utf8_byte_order_mark() -> None:
    assert len(parse_mentions(b"\xef\xbb\xbf" + encode(mention()))) == 1


def test_parse_mentions_defaults_the_source() -> None:
    obj = without("source")
    assert [m.source for m in parse_mentions(encode(obj))] == ["webhook"]
    assert [m.source for m in parse_mentions([obj], default_source="import")] == ["import"]


def test_parse_mentions_accepts_decoded_json_and_an_empty_array() -> None:
    assert parse_mentions([]) == []
    assert [m.id for m in parse_mentions([mention("a"), mention("b")])] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'"just text"', "expected a mention object or an array of them, got a string"),
        (b"null", "expected a mention object or an array of them, got null"),
        (b"\xff\xfe{}", "the body is not UTF-8 text"),
        (b"", "the body is not valid JSON: Expecting value at line 1 column 1"),
        (b'[{"id": "1"}, 2]', "item 0: 'created_at' is missing"),
        (
            b'[{"id": "1", "source": "a", "created_at": "2026-01-01T00:00Z", "text": ""}, 2]',
            "item 1: expected a mention object, got a number",
        ),
    ],
)
def test_parse_mentions_rejects_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_mentions(body)
    assert caught.value.reason == reason


def test_parse_mentions_caps_the_number_of_items() -> None:
    parse_mentions([mention(str(n)) for n in range(MAX_ITEMS)])
    with pytest.raises(PayloadError, match=f"exceed the limit of {MAX_ITEMS}"):
        parse_mentions([mention(str(n)) for n in range(MAX_ITEMS + 1)])
