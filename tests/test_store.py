"""The database: what each table family stores and reads back, online backups while the daemon
writes. Migrations: ``test_store_migrations.py``."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from monitor.models import Bucket, Incident, IncidentStatus, Label, Mention, Sentiment
from monitor.store import MIGRATIONS, Store
from tests.support import at


def scored(n: int, start: int = 0) -> list[tuple[Mention, Sentiment]]:
    return [
        (
            Mention(
                source="rss",
                id=str(i),
                created_at=at(12) + timedelta(seconds=i),
                text=f"post {i}",
                engagement={"likes": i},
            ),
            Sentiment(Label.NEGATIVE, -0.5, "en"),
        )
        for i in range(start, start + n)
    ]


def test_ingest_counts_only_new_mentions(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    assert store.save_poll("acme", "rss", at(12, 1), scored(5), "c1", 0.1) == 5
    assert store.save_poll("acme", "rss", at(12, 2), scored(5, start=3), "c2", 0.1) == 3
    assert store.cursor("acme", "rss") == "c2"
    assert store.count("acme", at(12), at(12, 1))[:3] == (8, 8, 0)


def test_backup_while_writes_continue_is_consistent(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    Store(path).migrate()
    done = threading.Event()

    def write() -> None:
        writer = Store(path)
        for batch in range(200):
            writer.save_poll("acme", "rss", at(12, 1), scored(50, start=batch * 50), None, 0.0)
        writer.close()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    backups = []
    for n in range(3):
        target = tmp_path / f"backup-{n}.db"
        Store(path).backup(target)
        backups.append(target)
    thread.join(timeout=60)
    assert done.is_set()
    for target in backups:
        copy = sqlite3.connect(target)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        count = copy.execute("SELECT count(*) FROM mentions").fetchone()[0]
        polls = copy.execute("SELECT coalesce(sum(new), 0) FROM polls").fetchone()[0]
        # Mentions and poll records are written in one transaction: a backup sees both or neither.
        assert count == polls
        copy.close()
    assert Store(path).mention_count() == 10_000


def test_deleted_mentions_keep_counting_and_say_when_they_were_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    store.save_poll("acme", "rss", at(12, 1), scored(3), None, 0.1)
    assert store.mark_deleted([("acme", "rss", "1"), ("acme", "rss", "nope")], at(13)) == 1
    assert store.mark_deleted([("acme", "rss", "1")], at(14)) == 0  # the first deletion stands
    assert store.mention_count() == 3
    assert store.mention_count("acme", deleted_only=True) == 1
    assert store.mention_count("other") == 0
    deleted = [m for m in store.mentions("acme", at(12), at(13)) if m.deleted_at is not None]
    assert [(m.mention.id, m.mention.text, m.deleted_at) for m in deleted] == [("1", "", at(13))]


def test_polls_are_read_back_in_the_order_they_happened(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    store.save_poll("acme", "rss", at(12, 1), scored(2), "c1", 0.5)
    store.save_failure("acme", "rss", at(12, 2), "HTTP 503 from example.test", duration=1.0)
    store.save_poll("acme", "rss", at(12, 3), scored(2), "c2", 0.25)
    polls = store.polls("acme", "rss")
    assert [(p.at, p.ok, p.fetched, p.new, p.error) for p in polls] == [
        (at(12, 1), True, 2, 2, None),
        (at(12, 2), False, 0, 0, "HTTP 503 from example.test"),
        (at(12, 3), True, 2, 0, None),
    ]
    assert store.polls("acme", "hackernews") == []
    state = store.source_state("acme", "rss")
    # A success ends the failure but keeps the last error on record.
    assert state is not None and state.failing_since is None
    assert state.last_error == "HTTP 503 from example.test"


def test_a_bucket_keeps_the_detectors_verdict(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    calm = Bucket("acme", at(12), at(12, 5), 10, 1, 4)
    gap = Bucket("acme", at(12, 5), at(12, 10), 0, 0, 0, complete=False)
    store.save_bucket(
        calm,
        score=0.5,
        anomalous=False,
        severity=0,
        expected_negative=1.2,
        expected_high=3.0,
        expected_share=0.1,
        reason=None,
    )
    store.save_bucket(
        gap,
        score=None,
        anomalous=False,
        severity=0,
        expected_negative=None,
        expected_high=None,
        expected_share=None,
        reason="a source did not poll",
    )
    first, second = store.buckets("acme")
    assert first.bucket == calm and first.expected_share == 0.1 and first.expected_high == 3.0
    assert second.bucket == gap and second.reason == "a source did not poll"
    assert store.bucket_count() == 2
    assert store.bucket_count(complete=False) == 1
    assert store.bucket_count("acme", complete=True) == 1
    assert store.bucket_count("other") == 0
    assert store.last_bucket_end("acme") == at(12, 10)


def test_upserts_replace_what_was_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    store.save_detector_state("acme", "fp-1", at(12), b"one")
    store.save_detector_state("acme", "fp-2", at(13), b"two")
    assert store.detector_state("acme") == ("fp-2", at(13), b"two")
    assert store.detector_state("other") is None
    store.set_message_ref(1, "slack", "1.0001")
    store.set_message_ref(1, "slack", "1.0002")
    assert store.message_ref(1, "slack") == "1.0002"
    assert store.message_ref(1, "console") is None


def test_a_failing_check_remembers_since_when_it_fails(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    store.save_check("slack", False, "invalid_auth", at(12))
    store.save_check("slack", False, "invalid_auth", at(12, 1))
    check = store.check("slack")
    assert check is not None and not check.ok and check.failing_since == at(12)
    assert check.checked_at == at(12, 1)
    store.save_check("slack", True, "connected", at(12, 2))
    check = store.check("slack")
    assert check is not None and check.ok and check.failing_since is None
    store.save_check("slack", False, "ratelimited", at(12, 3))
    check = store.check("slack")
    assert check is not None and check.failing_since == at(12, 3)


def test_an_incident_is_inserted_then_updated_and_its_events_read_in_order(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    opened = Incident(0, "acme", IncidentStatus.OPEN, 2, at(12), at(12), at(12), 2)
    stored = store.save_incident(opened)
    assert stored.id == 1 and store.incident(1) == stored
    store.add_incident_event(1, at(12), "opened", None)
    acknowledged = Incident(
        1,
        "acme",
        IncidentStatus.ACKNOWLEDGED,
        3,
        at(12),
        at(12, 5),
        at(12, 5),
        3,
        acknowledged_at=at(12, 5),
        acknowledged_by="U1",
    )
    assert store.save_incident(acknowledged) == acknowledged
    store.add_incident_event(1, at(12, 5), "acknowledged", "U1")
    assert store.incident(1) == acknowledged
    assert store.active_incident("acme") == acknowledged
    assert [(at_, kind, actor) for at_, kind, actor in store.incident_events(1)] == [
        (at(12), "opened", None),
        (at(12, 5), "acknowledged", "U1"),
    ]
    assert store.save_incident(opened).id == 2
