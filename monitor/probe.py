"""``shitstorm sources test``: poll every configured source once and say what came back.

The first thing to run after setting up credentials. Nothing is stored: the poll starts from no
cursor (reaching back the source's ``lookback``), exactly like a new topic's first poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from monitor.service import build_source, http_client
from monitor.settings import TopicSettings
from monitor.sources import PUSH_TYPES
from monitor.sources.base import SourceError


def probe_sources(topics: Sequence[TopicSettings], now: datetime, out: TextIO) -> int:
    """Print one block per source; returns how many failed."""
    failed = 0
    for topic in topics:
        for settings in topic.sources:
            label = f"{topic.name}/{settings.source_name} ({settings.type})"
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
