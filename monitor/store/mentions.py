"""Mentions: the scored posts ingest stores, and the counts and samples read from them.

Raw ``sqlite3`` throughout: the insert is ingest's hot path (one prepared statement for a whole
batch) and the counts run once per bucket and topic, so none of them may pay for sqlite-utils'
table introspection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from monitor.models import Label, Mention, Readings, Sentiment
from monitor.store.base import Connection, from_iso, instant, iso


@dataclass(frozen=True)
class StoredMention:
    topic: str
    mention: Mention
    sentiment: float
    label: Label
    # When its author deleted it (its text is then erased); None while it stands.
    deleted_at: datetime | None = None
    # The scorer's P(negative) and P(neutral); None where it gave none (sure of its label).
    p_negative: float | None = None
    p_neutral: float | None = None


class Counts(NamedTuple):
    """What the mentions of one span add up to: a bucket's figures."""

    volume: int
    negative: int
    positive: int
    # The sums of the scorer's probabilities; a mention without them counts as its label.
    readings: Readings


_INSERT = (
    "INSERT OR IGNORE INTO mentions (topic, source, id, created_at, fetched_at, text, lang, "
    "author, url, engagement, sentiment, label, reply_to, p_negative, p_neutral) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# One pass over the span: the label counts and the five sums of Readings. A mention stored
# without probabilities (a rule scorer's, or one stored before them) reads as its label.
_COUNT = (
    "SELECT count(*), coalesce(sum(label = 'negative'), 0), coalesce(sum(label = 'positive'), 0), "
    "total(n), total(u), total(n * n), total(u * u), total(n * u) FROM ("
    "SELECT label, coalesce(p_negative, label = 'negative') AS n, "
    "coalesce(p_neutral, label = 'neutral') AS u FROM mentions "
    "WHERE topic = ? AND created_at >= ? AND created_at < ?)"
)


class MentionTables(Connection):
    def save_mentions(
        self, topic: str, scored: Sequence[tuple[Mention, Sentiment]], at: datetime
    ) -> int:
        """Store scored mentions; returns how many were new (stored ones are left as they were)."""
        fetched_at = iso(at)
        rows = [
            (
                topic,
                mention.source,
                mention.id,
                iso(mention.created_at),
                fetched_at,
                mention.text,
                sentiment.lang,
                mention.author,
                mention.url,
                json.dumps(dict(mention.engagement)) if mention.engagement else None,
                sentiment.score,
                sentiment.label.value,
                mention.reply_to,
                *_stored_probabilities(sentiment),
            )
            for mention, sentiment in scored
        ]
        if not rows:
            return 0
        with self.transaction():
            before = self.conn.total_changes
            self.conn.executemany(_INSERT, rows)
            return self.conn.total_changes - before

    def mark_deleted(self, keys: Iterable[tuple[str, str, str]], at: datetime) -> int:
        """Mark stored mentions, by ``(topic, source, id)``, deleted by their authors.

        They keep counting in the buckets they counted in (they were said), but their text is
        erased: alerts and the CLI must no longer quote what its author took back. Returns how
        many stored mentions this marked; unknown or already deleted ones are left alone.
        """
        with self.transaction():
            before = self.conn.total_changes
            self.conn.executemany(
                "UPDATE mentions SET deleted_at = ?, text = '' "
                "WHERE topic = ? AND source = ? AND id = ? AND deleted_at IS NULL",
                [(iso(at), topic, source, mention_id) for topic, source, mention_id in keys],
            )
            return self.conn.total_changes - before

    def mention_count(self, topic: str | None = None, *, deleted_only: bool = False) -> int:
        """Stored mentions (of ``topic``, or all); ``deleted_only``: those deleted since."""
        where, params = ("WHERE topic = ?", (topic,)) if topic is not None else ("WHERE 1", ())
        if deleted_only:
            where += " AND deleted_at IS NOT NULL"
        row = self.conn.execute(f"SELECT count(*) FROM mentions {where}", params).fetchone()
        return int(row[0])

    def count(self, topic: str, start: datetime, end: datetime) -> Counts:
        """Volume, negative and positive mentions created in ``[start, end)``, and the sums of
        their probabilities (:class:`~monitor.models.Readings`)."""
        row = self.conn.execute(_COUNT, (topic, iso(start), iso(end))).fetchone()
        return Counts(int(row[0]), int(row[1]), int(row[2]), Readings(*row[3:]))

    def first_mention_at(self, topic: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(created_at) FROM mentions WHERE topic = ?", (topic,)
        ).fetchone()
        return from_iso(row[0])

    def last_mention_at(self, topic: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT max(created_at) FROM mentions WHERE topic = ?", (topic,)
        ).fetchone()
        return from_iso(row[0])

    def mentions(
        self,
        topic: str,
        start: datetime,
        end: datetime,
        *,
        label: Label | None = None,
        limit: int | None = None,
        order: str = "created_at",
        include_deleted: bool = True,
    ) -> list[StoredMention]:
        """Mentions created in ``[start, end)``; ``order`` is "created_at" or "most_negative".

        ``include_deleted=False`` leaves out posts their authors deleted (for quoting).
        """
        sql = (
            "SELECT topic, source, id, created_at, text, lang, author, url, engagement, "
            "sentiment, label, reply_to, deleted_at, p_negative, p_neutral FROM mentions "
            "WHERE topic = ? AND created_at >= ? AND created_at < ?"
        )
        params: list[Any] = [topic, iso(start), iso(end)]
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        if label is not None:
            sql += " AND label = ?"
            params.append(label.value)
        sql += (
            " ORDER BY sentiment, created_at"
            if order == "most_negative"
            else " ORDER BY created_at"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_stored_mention(r) for r in self.conn.execute(sql, params)]

    def texts(self, topic: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """The texts of the latest ``limit`` mentions created in ``[start, end)``."""
        rows = self.conn.execute(
            "SELECT text FROM mentions WHERE topic = ? AND created_at >= ? AND created_at < ? "
            "ORDER BY created_at DESC LIMIT ?",
            (topic, iso(start), iso(end), limit),
        )
        return [r[0] for r in rows]

    def split(self, topic: str, start: datetime, end: datetime, column: str) -> dict[str, int]:
        """Negative mentions in ``[start, end)`` counted by ``column`` ("source" or "lang")."""
        if column not in ("source", "lang"):
            raise ValueError(column)
        rows = self.conn.execute(
            f"SELECT coalesce({column}, 'und'), count(*) FROM mentions WHERE topic = ? "
            "AND created_at >= ? AND created_at < ? AND label = 'negative' "
            f"GROUP BY 1 ORDER BY 2 DESC",
            (topic, iso(start), iso(end)),
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def prune(self, mentions_before: datetime, polls_before: datetime) -> int:
        """Delete old mentions and poll records; buckets and incidents are kept."""
        with self.transaction():
            before = self.conn.total_changes
            self.conn.execute("DELETE FROM mentions WHERE created_at < ?", (iso(mentions_before),))
            self.conn.execute("DELETE FROM polls WHERE at < ?", (iso(polls_before),))
            return self.conn.total_changes - before


def _stored_probabilities(sentiment: Sentiment) -> tuple[float | None, float | None]:
    """The P(negative) and P(neutral) a mention is stored with; NULL where the scorer gave none
    (then it reads as its label: P = 1 for the label, 0 for the others)."""
    if sentiment.probabilities is None:
        return None, None
    return sentiment.probabilities[0], sentiment.probabilities[1]


def _stored_mention(row: tuple[Any, ...]) -> StoredMention:
    return StoredMention(
        row[0],
        Mention(
            source=row[1],
            id=row[2],
            created_at=instant(row[3]),
            text=row[4],
            lang=row[5],
            author=row[6],
            url=row[7],
            engagement=json.loads(row[8]) if row[8] else {},
            reply_to=row[11],
        ),
        row[9],
        Label(row[10]),
        from_iso(row[12]),
        row[13],
        row[14],
    )
