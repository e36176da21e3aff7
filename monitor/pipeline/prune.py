"""Retention: how long mentions and poll records are kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.pipeline.context import Context


def prune(ctx: Context, now: datetime) -> int:
    """Apply retention: old mentions and poll records go; buckets and incidents stay."""
    keep = ctx.settings.monitor.keep_mentions
    return ctx.store.prune(now - keep, now - max(keep, timedelta(days=7)))
