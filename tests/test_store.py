"""The database: migrations in place, online backups while the daemon writes, retention."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from monitor.models import Label, Mention, Sentiment
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


def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO mentions VALUES ('acme', 'rss', '1', ?, ?, 'hello', 'en', NULL, NULL, "
        "NULL, -0.5, 'negative')",
        (at(12).isoformat(), at(12).isoformat()),
    )
    old.commit()
    old.close()

    store = Store(path)
    assert store.migrate() == len(MIGRATIONS) - 1
    assert store.schema_version == len(MIGRATIONS)
    assert store.mention_count("acme") == 1
    assert store.migrate() == 0  # idempotent


def test_ingest_counts_only_new_mentions(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    store.migrate()
    assert store.save_poll("acme", "rss", at(12, 1), scored(5), "c1", 0.1) == 5
    assert store.save_poll("acme", "rss", at(12, 2), scored(5, start=3), "c2", 0.1) == 3
    assert store.cursor("acme", "rss") == "c2"
    assert store.count("acme", at(12), at(12, 1)) == (8, 8, 0)


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
