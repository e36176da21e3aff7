"""Jetstream: term matching, post records as mentions, and a real WebSocket session on loopback
whose batches are stored in a real SQLite file (cursor, deletes, gaps, reconnects)."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli.probe import probe_sources
from monitor.cli.status import render_status
from monitor.models import Label
from monitor.pipeline.buckets import evaluate
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.runtime.assembly import Runtime, alerter_names
from monitor.runtime.endpoints import health_problems
from monitor.runtime.streaming import StoreSink, build_streams
from monitor.settings import ConfigError, Settings
from monitor.sources.base import StreamBatch, Subscription, TopicTerms
from monitor.sources.jetstream import REWIND, JetstreamSettings, JetstreamStream
from monitor.sources.jetstream_posts import micros, post_mention
from monitor.sources.matching import TermMatcher
from monitor.store import Store
from tests.fake_jetstream import (
    DID,
    FakeJetstream,
    account,
    delete,
    identity,
    like,
    post,
)
from tests.support import BASE_SETTINGS, settings_in, wait_for

# The fake's events sit a minute before the test's clock, inside the default 10m lookback.
NOW = datetime.now(UTC).replace(microsecond=0)
# The fake's posts say they were written on 2026-01-01 (earlier than Jetstream saw them).
SINCE = datetime(2025, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
T0 = micros(NOW - timedelta(minutes=1))


def us(seconds: float) -> int:
    return T0 + int(seconds * 1_000_000)


# -- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("acme is down again", True),
        ("ACME!!! why", True),
        ("I love #Acme", True),
        ("ask @acme.com about it", True),
        ("see acme.com/status", True),
        ("Acmeville is nice", False),
        ("the acmes are here", False),
        ("react-acme-hook", True),
    ],
)
def test_a_plain_term_matches_the_whole_word_in_any_case(text: str, hit: bool) -> None:
    assert bool(TermMatcher({"t": ["Acme"]}).match(text)) is hit


def test_hashtag_handle_and_cashtag_terms_match_only_their_kind() -> None:
    matcher = TermMatcher({"tag": ["#acme"], "handle": ["@acme"], "cash": ["$ACME"]})
    assert matcher.match("acme is down") == set()
    assert matcher.match("#ACME is down") == {"tag"}
    assert matcher.match("hey @acme.bsky.social fix it") == {"handle"}
    assert matcher.match("hey @acmecorp.bsky.social") == set()
    assert matcher.match("mail info@acme.com") == set()
    assert matcher.match("$acme down 8%") == {"cash"}
    assert TermMatcher({"h": ["@acme.com"]}).match("@acme.com.evil.net hi") == set()
    assert TermMatcher({"h": ["@acme.com"]}).match("@ACME.com hi") == {"h"}


def test_phrases_and_terms_with_other_characters_match_as_whole_words() -> None:
    matcher = TermMatcher({"cloud": ["Acme Cloud"], "att": ["AT&T"], "cpp": ["C++"]})
    assert matcher.match("the acme   cloud is down") == {"cloud"}
    assert matcher.match("acme is a cloud company") == set()
    assert matcher.match("AT&T outage") == {"att"}
    assert matcher.match("MATT&TOM") == set()
    assert matcher.match("c++ rocks") == {"cpp"}


def test_one_matcher_serves_hundreds_of_topics() -> None:
    terms = {
        f"topic{i}": [f"brand{i}", f"#tag{i}", f"@acct{i}", f"brand{i} cloud"] for i in range(300)
    }
    matcher = TermMatcher(terms)
    assert matcher.match("brand17 and #TAG200 and @acct299.bsky.social") == {
        "topic17",
        "topic200",
        "topic299",
    }
    assert matcher.match("nothing to see brand") == set()


# -- records -------------------------------------------------------------------------------------


def test_a_post_record_becomes_a_mention_with_link_language_and_reply() -> None:
    event = post(
        us(0),
        "3kabc",
        "  Acme broke  ",
        langs=["de-DE", "en"],
        created_at="2026-01-01T00:00:00Z",
        reply_to="at://did:plc:x/app.bsky.feed.post/1",
    )
    record = event["commit"]["record"]
    mention = post_mention("jetstream", DID, "3kabc", record, us(0))
    assert mention.id == f"at://{DID}/app.bsky.feed.post/3kabc"
    assert mention.url == f"https://bsky.app/profile/{DID}/post/3kabc"
    assert mention.text == "Acme broke"
    assert mention.lang == "de"
    assert mention.author == DID
    assert mention.reply_to == "at://did:plc:x/app.bsky.feed.post/1"
    assert mention.created_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_creation_time_ahead_of_the_network_is_clamped_to_when_jetstream_saw_it() -> None:
    future = (NOW + timedelta(days=3)).isoformat()
    record = post(us(0), "k", "Acme", created_at=future)["commit"]["record"]
    assert post_mention("j", DID, "k", record, us(0)).created_at == NOW - timedelta(minutes=1)
    record = post(us(0), "k", "Acme", created_at="not a date")["commit"]["record"]
    assert post_mention("j", DID, "k", record, us(0)).created_at == NOW - timedelta(minutes=1)


def test_settings_name_the_key_that_is_wrong(tmp_path: Path) -> None:
    source = """
[[topics.sources]]
type = "jetstream"
url = ["https://example.com/subscribe"]
lookback = "3d"
"""
    with pytest.raises(ConfigError) as error:
        settings_in(tmp_path, BASE_SETTINGS, TOPIC, source)
    assert "topics[0].sources[0].url: 'https://example.com/subscribe' is not a WebSocket URL" in (
        str(error.value)
    )
    assert "topics[0].sources[0].lookback: must be between 0s and 36h" in str(error.value)


# -- a session against the fake ------------------------------------------------------------------

TOPIC = """
[[topics]]
name = "acme"
terms = ["Acme", "#acme"]
languages = ["en"]
"""

OTHER = """
[[topics]]
name = "globex"
terms = ["Globex"]
languages = ["en"]
"""


def jetstream_source(url: str, extra: str = "") -> str:
    return f"""
[[topics.sources]]
type = "jetstream"
url = {url!r}
idle_timeout = "30s"
{extra}
"""


@dataclass
class Session:
    settings: Settings
    store: Store
    fake: FakeJetstream
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, clock: datetime = NOW) -> None:
        runtime = Runtime(self.settings, {})
        stores: dict[int, Store] = {}
        names = tuple(alerter_names(self.settings, {}))

        def context() -> Context:  # one connection per thread, as in the daemon
            key = threading.get_ident()
            if key not in stores:
                stores[key] = Store(self.settings.monitor.database)
            return Context(stores[key], self.settings, names)

        self.stop = threading.Event()
        streams = build_streams(self.settings.topics, lambda: clock, self.store.cursor)
        for stream, subscriptions in streams:
            sink = StoreSink(stream.name, subscriptions, context, runtime.scorer, lambda: clock)
            thread = threading.Thread(target=stream.run, args=(sink, self.stop), daemon=True)
            thread.start()
            self.threads.append(thread)

    def halt(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive()
        self.threads.clear()

    def ids(self, topic: str = "acme") -> list[str]:
        return sorted(m.mention.id for m in self.store.mentions(topic, SINCE, FAR_FUTURE))

    def cursor(self, topic: str = "acme") -> int:
        value = self.store.cursor(topic, "jetstream")
        return int(value) if value else 0


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    fake = FakeJetstream()
    with fake.serve() as url:
        settings = settings_in(
            tmp_path, BASE_SETTINGS, TOPIC, jetstream_source(url), OTHER, jetstream_source(url)
        )
        store = Store(settings.monitor.database)
        store.migrate()
        session = Session(settings, store, fake)
        yield session
        session.halt()


def uri(rkey: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{rkey}"


def test_matching_posts_are_stored_once_for_each_topic_and_nothing_else(session: Session) -> None:
    session.fake.add(
        post(us(1), "a1", "Acme is down again, terrible"),
        post(us(2), "n1", "nothing to see here"),
        post(us(3), "g1", "Globex and #acme both"),
        like(us(4), "l1"),
        identity(us(5)),
        account(us(6)),
        post(us(7), "r1", "@someone acme support never answers", reply_to=uri("n1")),
        post(us(8), "x1", "Acmeville weather"),
    )
    session.start()
    wait_for(lambda: session.cursor() == us(8) and session.cursor("globex") == us(8))
    assert session.ids() == [uri("a1"), uri("g1"), uri("r1")]
    assert session.ids("globex") == [uri("g1")]
    reply = session.store.mentions("acme", SINCE, NOW)
    assert {m.mention.id: m.mention.reply_to for m in reply}[uri("r1")] == uri("n1")
    negative = session.store.mentions("acme", SINCE, NOW, label=Label.NEGATIVE)
    assert uri("a1") in {m.mention.id for m in negative}
    # Streamed mentions keep the trained scorer's probabilities, as polled ones do.
    assert all(m.p_negative is not None and m.p_neutral is not None for m in reply)
    request = session.fake.requests[0]
    assert request["wantedCollections"] == ["app.bsky.feed.post"]
    # One connection serves both topics.
    assert session.fake.connections == 1


def test_a_delete_marks_the_stored_post_deleted_and_it_still_counts(session: Session) -> None:
    session.fake.add(post(us(1), "a1", "Acme is awful"), post(us(2), "a2", "Acme is fine"))
    session.start()
    wait_for(lambda: session.cursor() == us(2))
    session.fake.add(delete(us(3), "a1"), delete(us(4), "unknown"))
    wait_for(lambda: session.cursor() == us(4))
    assert session.ids() == [uri("a1"), uri("a2")]
    assert session.store.count("acme", SINCE, NOW)[0] == 2
    quotable = session.store.mentions("acme", SINCE, NOW, include_deleted=False)
    assert [m.mention.id for m in quotable] == [uri("a2")]
    stored = session.store.mentions("acme", SINCE, FAR_FUTURE)
    (erased,) = [m for m in stored if m.mention.id == uri("a1")]
    assert erased.mention.text == "" and erased.deleted_at is not None


def test_malformed_and_oversized_frames_are_logged_and_skipped(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    session.fake.add(post(us(1), "a1", "Acme one"))
    session.fake.add("{not json", '{"kind": "commit"}', time_us=us(1))
    session.fake.add(post(us(2), "big", "Acme " + "x" * 70_000))
    session.fake.add(
        {
            "did": DID,
            "time_us": us(3),
            "kind": "commit",
            "commit": {
                "collection": "app.bsky.feed.post",
                "operation": "create",
                "rkey": "z",
                "record": {},
            },
        }
    )
    session.fake.add(post(us(4), "a2", "Acme two"))
    session.start()
    wait_for(lambda: session.cursor() == us(4))
    assert session.ids() == [uri("a1"), uri("a2")]
    assert "jetstream: skipped" in caplog.text


def test_a_dropped_connection_resumes_from_the_cursor_without_doubling(session: Session) -> None:
    session.fake.add(*[post(us(i), f"p{i:02}", f"Acme post {i}") for i in range(1, 11)])
    session.fake.drop_after(4)
    session.start()
    session.fake.wait_connections(2)
    wait_for(lambda: session.cursor() == us(10))
    assert session.ids() == [uri(f"p{i:02}") for i in range(1, 11)]
    resumed = int(session.fake.requests[1]["cursor"][0])
    # Inclusive replay from the last stored event, rewound a little for a fail-over.
    assert resumed == us(4) - int(REWIND.total_seconds() * 1_000_000)
    # A drop that reconnects at once is no failure: no gap.
    state = session.store.source_state("acme", "jetstream")
    assert state is not None and state.failing_since is None


def test_a_restart_resumes_from_the_stored_cursor(session: Session) -> None:
    session.fake.add(post(us(1), "a1", "Acme one"))
    session.start()
    wait_for(lambda: session.cursor() == us(1))
    session.halt()
    session.fake.add(post(us(2), "a2", "Acme two"))
    session.start()
    wait_for(lambda: session.cursor() == us(2))
    assert session.ids() == [uri("a1"), uri("a2")]
    assert int(session.fake.requests[1]["cursor"][0]) == us(1) - int(REWIND.total_seconds() * 1e6)


def test_a_language_filter_keeps_tagged_posts_in_those_languages_and_untagged_ones(
    tmp_path: Path,
) -> None:
    fake = FakeJetstream()
    with fake.serve() as url:
        settings = settings_in(
            tmp_path, BASE_SETTINGS, TOPIC, jetstream_source(url, 'languages = ["de"]')
        )
        store = Store(settings.monitor.database)
        store.migrate()
        session = Session(settings, store, fake)
        fake.add(
            post(us(1), "en", "Acme", langs=["en"]),
            post(us(2), "de", "Acme", langs=["de-AT"]),
            post(us(3), "none", "Acme", langs=[]),
        )
        session.start()
        try:
            wait_for(lambda: session.cursor() == us(3))
        finally:
            session.halt()
        assert session.ids() == [uri("de"), uri("none")]


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{sock.getsockname()[1]}/subscribe"


def test_an_unreachable_instance_is_a_failure_and_the_next_one_takes_over(tmp_path: Path) -> None:
    fake = FakeJetstream()
    with fake.serve() as url:
        dead = free_port_url()
        source = f"""
[[topics.sources]]
type = "jetstream"
url = [{dead!r}, {url!r}]
"""
        settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC, source)
        store = Store(settings.monitor.database)
        store.migrate()
        session = Session(settings, store, fake)
        fake.add(post(us(1), "a1", "Acme one"))
        session.start()
        try:
            wait_for(lambda: session.cursor() == us(1), timeout=10)
        finally:
            session.halt()
        polls = store.polls("acme", "jetstream")
        assert not polls[0].ok and "cannot connect to 127.0.0.1" in (polls[0].error or "")
        assert polls[-1].ok
        state = store.source_state("acme", "jetstream")
        assert state is not None and state.failing_since is None


# -- completeness ---------------------------------------------------------------------------------


def test_a_bucket_is_complete_once_the_stream_passed_it_and_a_gap_while_it_failed(
    tmp_path: Path,
) -> None:
    settings = settings_in(
        tmp_path,
        BASE_SETTINGS.replace('warmup = "1h"', 'warmup = "0s"'),
        TOPIC,
        jetstream_source("ws://127.0.0.1:9/subscribe"),
    )
    store = Store(settings.monitor.database)
    store.migrate()
    topic = settings.topics[0]
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    clock = [start]
    subscription = Subscription(TopicTerms("acme", ("Acme",)), topic.sources[0])
    context = Context(store, settings, tuple(alerter_names(settings, {})))
    sink = StoreSink(
        "jetstream", [subscription], lambda: context, Runtime(settings, {}).scorer, lambda: clock[0]
    )

    def read_up_to(seconds: int) -> None:
        position = start + timedelta(seconds=seconds)
        clock[0] = position + timedelta(seconds=1)
        sink.save(StreamBatch({}, [], str(micros(position)), position, events=1))

    sink.connected("ws://fake")
    for second in range(0, 150, 10):
        read_up_to(second)
    detectors = Detectors(settings)
    clock[0] = start + timedelta(seconds=150)
    judged = evaluate(context, topic, detectors, clock[0])
    # The stream passed 12:01 and 12:02, and lateness (10s) is over for both; 12:02–12:03 waits.
    assert [(j.bucket.start_at.minute, j.bucket.complete) for j in judged] == [(0, True), (1, True)]
    sink.failed("cannot connect to 127.0.0.1:9: ConnectionRefusedError")
    clock[0] = start + timedelta(minutes=5)
    judged = evaluate(context, topic, detectors, clock[0])
    # 12:02 saw the failure; 12:03 was never passed by the stream: both are gaps, not calm.
    assert [(j.bucket.start_at.minute, j.bucket.complete) for j in judged] == [
        (2, False),
        (3, False),
    ]
    # Blind after 30 minutes of failing: one "source down" notice, then one all-clear.
    sink.failed("still down")
    assert store.notifications() == []
    clock[0] = start + timedelta(minutes=33)
    sink.failed("still down")
    sink.failed("still down")
    kinds = [n.kind.value for n, _ in store.notifications()]
    assert kinds == ["source_down"]
    sink.connected("ws://fake")
    read_up_to(33 * 60 + 5)
    kinds = [n.kind.value for n, _ in store.notifications()]
    assert kinds == ["source_down", "source_up"]


# -- sources test ---------------------------------------------------------------------------------


def test_sources_test_reads_live_for_a_few_seconds_and_prints_what_would_match(
    tmp_path: Path,
) -> None:
    fake = FakeJetstream()
    with fake.serve() as url:
        settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC, jetstream_source(url))
        out = io.StringIO()

        def feed() -> None:
            fake.wait_connections(1)
            fake.add(post(us(1), "a1", "Acme is down"), post(us(2), "n1", "unrelated"))

        threading.Thread(target=feed, daemon=True).start()
        failed = probe_sources(settings.topics, NOW, out, stream_seconds=1.5)
    text = out.getvalue()
    assert failed == 0, text
    assert "acme/jetstream (jetstream): ok — connected to 127.0.0.1" in text
    assert "2 event(s), 1 would match" in text
    assert "Acme is down" in text
    assert "cursor" not in fake.requests[0]  # live, not replaying history


def test_sources_test_reports_an_unreachable_stream(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC, jetstream_source(free_port_url()))
    out = io.StringIO()
    assert probe_sources(settings.topics, NOW, out, stream_seconds=1.0) == 1
    assert "acme/jetstream (jetstream): FAILED — cannot connect to 127.0.0.1" in out.getvalue()


def test_the_stream_settings_class_is_registered() -> None:
    assert JetstreamStream.settings_class is JetstreamSettings
    assert JetstreamStream.connection_key(JetstreamSettings(type="jetstream", url="wss://a/b")) == (
        "wss://a/b",
    )


def test_a_connection_that_goes_quiet_is_a_failure_and_is_reopened(tmp_path: Path) -> None:
    fake = FakeJetstream()
    with fake.serve() as url:
        settings = settings_in(
            tmp_path,
            BASE_SETTINGS,
            TOPIC,
            jetstream_source(url).replace('idle_timeout = "30s"', 'idle_timeout = "1s"'),
        )
        store = Store(settings.monitor.database)
        store.migrate()
        session = Session(settings, store, fake)
        session.start()
        try:
            fake.wait_connections(2)
        finally:
            session.halt()
    state = store.source_state("acme", "jetstream")
    assert state is not None and state.failing_since is not None
    assert "no event from 127.0.0.1" in (state.last_error or "")


def test_status_shows_how_far_the_stream_has_read(session: Session) -> None:
    session.fake.add(post(us(1), "a1", "Acme one"))
    session.start()
    wait_for(lambda: session.cursor() == us(1))
    text = render_status(session.store, session.settings, NOW)
    assert "acme/jetstream                   streaming, read up to" in text
    assert "(59s behind)" in text
    # /healthz: a stream that has read recently is healthy; one stuck for long is not.
    assert health_problems(session.store, session.settings, NOW, NOW) == []
    later = NOW + timedelta(minutes=10)
    problems = health_problems(session.store, session.settings, later, later)
    assert any(p.startswith("acme/jetstream: last success") for p in problems)


def test_an_incident_no_longer_quotes_a_post_its_author_deleted(tmp_path: Path) -> None:
    from alerts.report import incident_payload
    from monitor.models import Mention, Sentiment
    from tests.support import at, open_incident_at_noon

    settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC)
    store = Store(settings.monitor.database)
    store.migrate()
    negative = Sentiment(Label.NEGATIVE, -0.8, "en")
    posts = [
        Mention("jetstream", uri(rkey), at(12, 1), f"Acme is awful {rkey}", "en")
        for rkey in ("keep", "gone")
    ]
    store.save_mentions("acme", [(m, negative) for m in posts], at(12, 2))
    assert store.mark_deleted([("acme", "jetstream", uri("gone"))], at(12, 3)) == 1
    assert store.mark_deleted([("acme", "jetstream", uri("gone"))], at(12, 4)) == 0
    incident = store.save_incident(open_incident_at_noon())
    payload = incident_payload(store, settings, settings.topics[0], incident, at(12, 5))
    assert [post["text"] for post in payload["top_posts"]] == ["Acme is awful keep"]
    assert store.count("acme", at(12), at(12, 5))[1] == 2  # it still counted


def test_the_benchmark_reads_every_event_and_stores_the_matches(tmp_path: Path) -> None:
    import json
    import random

    from benchmarks.jetstream_bench import brand_names, measure, render_frames

    brands = brand_names(5, random.Random(1))
    frames = [json.loads(f) for f in render_frames(300, brands, 1, T0, 1000, match_share=0.2)]
    kinds = {f["kind"] for f in frames}
    kinds |= {f["commit"]["operation"] for f in frames if "commit" in f}
    assert kinds >= {"commit", "create", "delete"}
    sink, wall, cpu, stored, _ = measure(tmp_path, brands, 2000, 0, 3)
    assert sink.events == 2000 and wall > 0 and cpu > 0
    assert stored > 0
