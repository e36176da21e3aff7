"""``shitstorm sources test``: poll every configured source once and say what came back.

The first thing to run after setting up credentials. Nothing is stored: the poll starts from no
cursor (reaching back the source's ``lookback``), exactly like a new topic's first poll. A
streaming source is read live for a few seconds instead, and what would have matched is shown.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from monitor.models import Mention
from monitor.runtime.assembly import build_source, http_client
from monitor.runtime.streaming import build_streams
from monitor.settings import TopicSettings
from monitor.sources import PUSH_TYPES, STREAM_TYPES
from monitor.sources.base import SourceError, StreamBatch

# How many matches per topic ``sources test`` prints from a stream.
SHOWN_MATCHES = 3


def probe_sources(
    topics: Sequence[TopicSettings], now: datetime, out: TextIO, *, stream_seconds: float = 5.0
) -> int:
    """Print one block per source; returns how many failed."""
    failed = probe_streams(topics, now, out, stream_seconds)
    for topic in topics:
        for settings in topic.sources:
            label = f"{topic.name}/{settings.source_name} ({settings.type})"
            if settings.type in STREAM_TYPES:
                continue
            if settings.type in PUSH_TYPES:
                out.write(f"{label}: push source — POST mentions to /ingest/{topic.name}\n")
                continue
            source = build_source(topic, settings)
            try:
                with http_client(settings) as client:
                    result = source.poll(client, None, now)
            except SourceError as exc:
                failed += 1
                out.write(f"{label}: FAILED — {exc.message}\n")
                continue
            except Exception as exc:  # report, don't crash: ops needs the whole list
                failed += 1
                out.write(f"{label}: FAILED — internal error {exc.__class__.__name__}: {exc}\n")
                continue
            out.write(f"{label}: ok — {len(result.mentions)} mention(s)")
            out.write(" (page limit reached)" if result.truncated else "")
            out.write(f", {result.skipped} malformed skipped" if result.skipped else "")
            out.write("\n")
            newest = max(result.mentions, key=lambda m: m.created_at, default=None)
            if newest is not None:
                text = " ".join(newest.text.split())
                out.write(
                    f"    newest: {newest.created_at:%Y-%m-%d %H:%M} UTC "
                    f"{newest.author or '?'}: {text[:100]}\n"
                )
            if result.rate_limit:
                out.write(f"    rate limit: {result.rate_limit}\n")
    return failed


@dataclass
class _ProbeSink:
    """Collects what a stream read, storing nothing."""

    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: int = 0
    skipped: int = 0
    matches: dict[int, list[Mention]] = field(default_factory=dict)

    def connected(self, url: str) -> None:
        self.urls.append(url)

    def save(self, batch: StreamBatch) -> None:
        self.events += batch.events
        self.skipped += batch.skipped
        for index, found in batch.mentions.items():
            self.matches.setdefault(index, []).extend(found)

    def failed(self, error: str) -> None:
        self.errors.append(error)


def probe_streams(
    topics: Sequence[TopicSettings], now: datetime, out: TextIO, seconds: float
) -> int:
    """Read each stream live for ``seconds``; print per topic what would have matched."""
    failed = 0
    for stream, subscriptions in build_streams(topics, lambda: now, resume=False):
        sink = _ProbeSink()
        stop = threading.Event()
        reader = threading.Thread(target=stream.run, args=(sink, stop), daemon=True)
        reader.start()
        stop.wait(seconds)
        stop.set()
        reader.join(seconds + 10)
        for index, subscription in enumerate(subscriptions):
            label = (
                f"{subscription.topic.name}/{subscription.source_name} "
                f"({subscription.settings.type})"
            )
            if not sink.urls:
                failed += 1
                error = sink.errors[0] if sink.errors else "did not connect in time"
                out.write(f"{label}: FAILED — {error}\n")
                continue
            host = urllib.parse.urlsplit(sink.urls[-1]).netloc
            found = sink.matches.get(index, [])
            out.write(
                f"{label}: ok — connected to {host}, read live for {seconds:g}s: "
                f"{sink.events} event(s), {len(found)} would match"
            )
            out.write(f", {sink.skipped} malformed skipped" if sink.skipped else "")
            out.write("\n")
            for mention in found[-SHOWN_MATCHES:]:
                text = " ".join(mention.text.split())
                out.write(f"    {mention.created_at:%H:%M:%S} UTC {mention.url}: {text[:100]}\n")
    return failed
