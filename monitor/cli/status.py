"""``shitstorm status``: one screen for ops, read from the database the daemon writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.pipeline.notify import silence_at
from monitor.settings import Settings
from monitor.sources import STREAM_TYPES
from monitor.store import Silence, Store


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def render_status(store: Store, settings: Settings, now: datetime) -> str:
    lines = [f"database  {settings.monitor.database} ({_size(settings)})"]
    if settings.slack is not None:
        lines.append(f"slack     {_slack_line(store, now)}")
    lines.append("")
    lines.append("SOURCES")
    for topic in settings.topics:
        for source in topic.sources:
            state = store.source_state(topic.name, source.source_name)
            name = f"{topic.name}/{source.source_name}"
            if state is None:
                lines.append(f"  {name:<32} not polled yet")
                continue
            line = f"  {name:<32} ok {_ago(now, state.last_success_at)}"
            if source.type in STREAM_TYPES and state.last_success_at is not None:
                # A stream's last success is how far it has read: its lag behind the network.
                behind = _ago(now, state.last_success_at).replace(" ago", " behind")
                line = f"  {name:<32} streaming, read up to {state.last_success_at:%H:%M:%S} UTC"
                line += f" ({behind})"
            if state.failing_since is not None:
                line += f"  FAILING since {_ago(now, state.failing_since)}: {state.last_error}"
            if state.retry_at is not None and state.retry_at > now:
                line += f"  (backing off until {state.retry_at:%H:%M:%S} UTC)"
            lines.append(line)
    lines.append("")
    lines.append("TOPICS")
    for topic in settings.topics:
        recent = store.buckets(topic.name, now - timedelta(hours=2))
        silence = silence_at(store, topic, now)
        if not recent:
            lines.append(f"  {topic.name:<20} no bucket judged in the last 2 h")
        else:
            last = recent[-1]
            bucket = last.bucket
            expected = "?" if last.expected_negative is None else f"{last.expected_negative:.1f}"
            flags = ("" if bucket.complete else ", INCOMPLETE") + (
                ", ANOMALOUS" if last.anomalous else ""
            )
            lines.append(
                f"  {topic.name:<20} last bucket {bucket.start_at:%H:%M}–{bucket.end_at:%H:%M} "
                f"UTC: {bucket.volume} mentions, {bucket.negative} negative (expected "
                f"{expected}), score {last.score or 0:.1f}{flags}"
            )
        if silence is not None:
            lines.append(
                f"  {'':<20} silenced until {silence[0]:%Y-%m-%d %H:%M} UTC ({silence[1]})"
            )
    lines.append("")
    active = store.active_incidents()
    lines.append(f"OPEN INCIDENTS ({len(active)})")
    for incident in active:
        lines.append(
            f"  #{incident.id:<5} {incident.topic:<20} {incident.status.value:<13} "
            f"severity {incident.severity} (peak {incident.peak_severity}), "
            f"opened {_ago(now, incident.opened_at)}"
        )
    counts = store.notification_counts()
    pending = sum(n for (_, status), n in counts.items() if status == "pending")
    failed = sum(n for (_, status), n in counts.items() if status == "failed")
    lines.append("")
    lines.append(f"OUTBOX    {pending} pending, {failed} failed")
    for (alerter, status), n in sorted(counts.items()):
        if status in ("pending", "failed"):
            lines.append(f"  {alerter:<10} {status:<8} {n}")
    return "\n".join(lines)


def _slack_line(store: Store, now: datetime) -> str:
    check = store.check("slack")
    if check is None:
        return "not checked yet (the daemon runs auth.test when it starts)"
    if check.ok:
        return f"ok: {check.detail} (checked {_ago(now, check.checked_at)})"
    since = _ago(now, check.failing_since or check.checked_at)
    return f"FAILING since {since}: {check.detail} (checked {_ago(now, check.checked_at)})"


def render_silences(silences: list[Silence], now: datetime) -> str:
    if not silences:
        return "no silences"
    lines = [
        f"{'ID':>4}  {'TOPIC':<16} {'FROM (UTC)':<17} {'UNTIL (UTC)':<17} {'STATE':<7} BY / REASON"
    ]
    for s in silences:
        state = (
            "active"
            if s.start_at <= now < s.end_at
            else ("planned" if now < s.start_at else "over")
        )
        about = " — ".join(x for x in (s.created_by, s.reason) if x) or "-"
        lines.append(
            f"{s.id:>4}  {s.topic:<16} {s.start_at:%Y-%m-%d %H:%M}  "
            f"{s.end_at:%Y-%m-%d %H:%M}  {state:<7} {about}"
        )
    return "\n".join(lines)


def bucket_window(
    store: Store, topic: str, span: timedelta, now: datetime
) -> tuple[datetime, datetime]:
    """``span`` back from the topic's latest judged bucket, or from ``now`` when there is none.

    A replayed or demo history, or a topic whose daemon stopped, still shows its last day.
    Returns the window's start and its end.
    """
    latest = store.last_bucket_end(topic)
    end = latest if latest is not None and latest < now else now
    return end - span, end


def _size(settings: Settings) -> str:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = settings.monitor.database.with_name(settings.monitor.database.name + suffix)
        if path.exists():
            total += path.stat().st_size
    return f"{total / 1e6:.1f} MB"


def render_buckets(
    store: Store,
    topic: str,
    since: datetime,
    *,
    notable_from: float | None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """The topic's judged buckets since ``since``, one line each with the detector's reason.

    With ``notable_from``, only buckets worth a look: anomalous, incomplete, or scoring at least
    that much (the hold bar: a bucket that would keep a storm open). This answers "why did it
    page at 3 a.m." as well as "why did it not".
    """
    lines = []
    for judged in store.buckets(topic, since):
        bucket = judged.bucket
        score = judged.score or 0.0
        notable = judged.anomalous or not bucket.complete or score >= (notable_from or 0.0)
        if notable_from is not None and not notable:
            continue
        expected = "?" if judged.expected_negative is None else f"{judged.expected_negative:.1f}"
        flag = "STORM" if judged.anomalous else ("gap" if not bucket.complete else "")
        lines.append(
            f"{bucket.start_at:%m-%d %H:%M} {flag:<5} {bucket.negative:>5} of {bucket.volume:<6} "
            f"exp {expected:>6}  score {score:5.1f}  {judged.reason or ''}"
        )
    window = f"since {since:%Y-%m-%d %H:%M} UTC"
    if until is not None and now is not None and now - until > timedelta(hours=1):
        # Say so: "since" is not counted from now, and nothing was judged after ``until``.
        window += (
            f", counted back from the latest bucket ({until:%Y-%m-%d %H:%M} UTC, "
            f"{_ago(now, until)}; nothing judged since)"
        )
    if not lines:
        what = "notable buckets" if notable_from is not None else "buckets"
        return f"{topic}: no {what} {window}"
    header = f"{topic}: buckets {window} (times UTC; negative of all)"
    return "\n".join([header, *lines])
