"""The three steps of the monitor — ingest, evaluate, deliver — as plain functions of ``now``.

``service.py`` calls them from scheduler jobs with the wall clock; ``replay`` calls them with a
simulated one. Neither the steps nor anything they call reads the clock.
"""

from __future__ import annotations

import copy
import logging
import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import httpx

from alerts.base import Alerter, AlertError
from alerts.incidents import IncidentPolicy, Transition, advance, escalate_if_due
from alerts.report import incident_payload, source_payload
from detectors import STATE_VERSION, Decision, TopicDetector, build_detector
from monitor.models import Bucket, Incident, Mention, Notification, NotificationKind
from monitor.runtime import metrics
from monitor.secrets import read_secret
from monitor.sentiment import Scorer
from monitor.settings import Settings, TopicSettings
from monitor.sources import PUSH_TYPES
from monitor.sources.base import (
    EARLIEST_PLAUSIBLE,
    MAX_CLOCK_SKEW,
    Source,
    SourceError,
    SourceSettings,
    plausible,
)
from monitor.store import SourceState, Store

log = logging.getLogger("monitor.pipeline")

# A saved detector state is only reused under the river version that wrote it.
RIVER_VERSION = version("river")
# How often (in bucket time) a topic's detector state is saved. Buckets judged after the last
# save are replayed into the detector on a restart, so saving less often loses nothing.
SAVE_STATE_EVERY = timedelta(hours=1)


def floor_time(instant: datetime, width: timedelta) -> datetime:
    """The start of the bucket of ``width`` that holds ``instant`` (buckets align to the epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    step = int(width.total_seconds() * 1_000_000)
    offset = int((instant - epoch).total_seconds() * 1_000_000)
    return epoch + timedelta(microseconds=offset - offset % step)


def incident_policy(settings: Settings) -> IncidentPolicy:
    alerts = settings.alerts
    return IncidentPolicy(
        resolve_after=alerts.resolve_after,
        reopen_within=alerts.reopen_within,
        escalate_after=alerts.escalate_after,
        max_escalations=alerts.max_escalations,
    )


# -- ingest ------------------------------------------------------------------------------------


# Texts longer than this are cut before scoring and storing (see :func:`cap_text`). The
# English scorer's time grows with the square of a text's length: 5,000 characters take
# ~40 ms, 51,000 take 5 s (``benchmarks/source_limits_bench.py``).
MAX_TEXT_CHARS = 5_000


@dataclass(frozen=True)
class PollOutcome:
    ok: bool
    fetched: int = 0
    new: int = 0
    error: str | None = None
    skipped_backoff: bool = False
    rate_limit: str | None = None
    newest: Mention | None = None
    # Items not stored: malformed, or dated where no remote clock can be believed.
    skipped: int = 0


def ingest(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    source_settings: SourceSettings,
    source: Source,
    client: httpx.Client,
    scorer: Scorer,
    now: datetime,
) -> PollOutcome:
    """Poll one source once: score what it found and store mentions and cursor together.

    A failure of any kind is recorded against the source (its buckets become incomplete) and
    logged with its name; it never propagates, so one broken source cannot stop the daemon.
    """
    name = source_settings.source_name
    state = store.source_state(topic.name, name)
    if state and state.retry_at and now < state.retry_at:
        log.debug("%s/%s: backing off until %s", topic.name, name, state.retry_at.isoformat())
        return PollOutcome(ok=False, skipped_backoff=True, error=state.last_error)
    started = time.perf_counter()
    try:
        result = source.poll(client, store.cursor(topic.name, name), now)
        mentions, misdated = screen(result.mentions, now)
        scored = [(m, scorer.score(m.text, m.lang)) for m in mentions]
        new = store.save_poll(
            topic.name, name, now, scored, result.cursor, time.perf_counter() - started
        )
    except SourceError as exc:
        retry_at = now + exc.retry_after if exc.retry_after else None
        _record_failure(store, settings, topic, name, now, exc.message, retry_at, started)
        return PollOutcome(ok=False, error=exc.message)
    except Exception as exc:  # a bug or an unexpected payload must not stop the daemon
        log.exception("%s/%s: poll crashed", topic.name, name)
        message = f"internal error: {exc.__class__.__name__}: {exc}"
        _record_failure(store, settings, topic, name, now, message, None, started)
        return PollOutcome(ok=False, error=message)
    elapsed = time.perf_counter() - started
    for _, sentiment in scored:
        metrics.SENTIMENT_TEXTS.labels(sentiment.lang).inc()
    metrics.POLL_DURATION.labels(topic.name, name).observe(elapsed)
    metrics.MENTIONS_INGESTED.labels(topic.name, name).inc(new)
    metrics.LAST_SUCCESS.labels(topic.name, name).set(now.timestamp())
    if result.skipped:
        log.warning("%s/%s: skipped %d malformed items", topic.name, name, result.skipped)
    if misdated:
        log.warning(
            "%s/%s: skipped %d items dated after now + %s or before %s (remote clock not trusted)",
            topic.name,
            name,
            misdated,
            MAX_CLOCK_SKEW,
            EARLIEST_PLAUSIBLE.date(),
        )
    log.info(
        "%s/%s: polled %d mentions, %d new%s",
        topic.name,
        name,
        len(result.mentions),
        new,
        " (page limit reached)" if result.truncated else "",
    )
    source_recovered(store, settings, topic, name, state, now)
    newest = max(mentions, key=lambda m: m.created_at, default=None)
    return PollOutcome(
        ok=True,
        fetched=len(result.mentions),
        new=new,
        rate_limit=result.rate_limit,
        newest=newest,
        skipped=result.skipped + misdated,
    )


def screen(mentions: Sequence[Mention], now: datetime) -> tuple[list[Mention], int]:
    """What a source delivered, fit to score and store, and how many items were dropped.

    Items whose created time the remote clock got absurdly wrong are dropped (a bucket cannot
    hold them, see :func:`monitor.sources.base.plausible`), and texts are capped.
    """
    kept = [cap_text(m) for m in mentions if plausible(m.created_at, now)]
    return kept, len(mentions) - len(kept)


def cap_text(mention: Mention) -> Mention:
    """The mention with its text cut to ``MAX_TEXT_CHARS``, marked as cut, when it is longer.

    A 2 MiB comment would take hours to score and says nothing its first pages do not. The
    marker avoids words a sentiment lexicon knows ("cut" is negative in VADER).
    """
    if len(mention.text) <= MAX_TEXT_CHARS:
        return mention
    marker = f" […shortened, {len(mention.text):,} characters in all]"
    return replace(mention, text=mention.text[:MAX_TEXT_CHARS] + marker)


def _record_failure(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    source: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
    started: float,
) -> None:
    log.warning("%s/%s: poll failed: %s", topic.name, source, error)
    metrics.POLL_ERRORS.labels(topic.name, source).inc()
    store.save_failure(topic.name, source, now, error, retry_at, time.perf_counter() - started)
    check_blind(store, settings, topic, source, now)


def source_recovered(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    source: str,
    state: SourceState | None,
    now: datetime,
) -> None:
    """Give the all-clear once for a source that was reported blind (``state`` from before)."""
    if state is None or not state.blind_notified:
        return
    with store.transaction():
        store.set_blind_notified(topic.name, source, False)
        _notify_source(
            store,
            settings,
            topic,
            NotificationKind.SOURCE_UP,
            source,
            None,
            state.failing_since,
            now,
        )


def check_blind(
    store: Store, settings: Settings, topic: TopicSettings, source: str, now: datetime
) -> None:
    """Say once that the monitor is blind when a source has failed for ``blind_after``."""
    state = store.source_state(topic.name, source)
    if state is None or state.failing_since is None or state.blind_notified:
        return
    if now - state.failing_since < settings.alerts.blind_after:
        return
    with store.transaction():
        store.set_blind_notified(topic.name, source, True)
        _notify_source(
            store,
            settings,
            topic,
            NotificationKind.SOURCE_DOWN,
            source,
            state.last_error,
            state.failing_since,
            now,
        )


def _notify_source(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    kind: NotificationKind,
    source: str,
    error: str | None,
    since: datetime | None,
    now: datetime,
) -> None:
    payload = source_payload(settings, topic, source, error, since, now)
    for alerter in alerter_names(settings):
        store.add_notification(alerter, kind, topic.name, None, now, payload)


def alerter_names(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Where notifications go: Slack when configured with a token, the console as asked."""
    names = []
    slack = settings.slack is not None and read_secret(settings.slack.token_env, environ)
    if settings.alerts.console == "on" or (settings.alerts.console == "auto" and not slack):
        names.append("console")
    if slack:
        names.append("slack")
    return names


# -- evaluate ----------------------------------------------------------------------------------


@dataclass
class Detectors:
    """Each topic's detector, restored or rebuilt from the store on first use (warm start)."""

    settings: Settings
    by_topic: dict[str, TopicDetector] = field(default_factory=dict)
    saved_at: dict[str, datetime] = field(default_factory=dict)
    # While a failed source is written off: the copy that judges the other sources' buckets.
    partial: dict[str, TopicDetector] = field(default_factory=dict)

    def fingerprint(self, topic: TopicSettings) -> str:
        return "|".join(
            (
                RIVER_VERSION,
                f"state {STATE_VERSION}",
                repr(self.settings.detection_for(topic)),
                str(self.settings.zone(topic)),
                str(self.settings.monitor.bucket),
            )
        )

    def get(self, store: Store, topic: TopicSettings) -> TopicDetector:
        detector = self.by_topic.get(topic.name)
        if detector is None:
            detector = self._warm_start(store, topic)
            self.by_topic[topic.name] = detector
        return detector

    def _warm_start(self, store: Store, topic: TopicSettings) -> TopicDetector:
        saved = store.detector_state(topic.name)
        since: datetime | None = None
        detector: TopicDetector | None = None
        if saved is not None and saved[0] == self.fingerprint(topic):
            try:
                detector = pickle.loads(saved[2])
                since = self.saved_at[topic.name] = saved[1]
            except Exception as exc:  # any unpickling failure: rebuild from stored buckets
                log.warning(
                    "%s: saved detector state unreadable (%s: %s); rebuilding from stored buckets",
                    topic.name, type(exc).__name__, exc,
                )  # fmt: skip
                detector = None
        if detector is None:
            detector = build_detector(
                self.settings.detection_for(topic), self.settings.zone(topic)
            )
        # Catch up on buckets judged after the state was saved (or all of them when
        # rebuilding), so a restart never opens a blind warm-up window.
        replayed = 0
        for judged in store.buckets(topic.name, since):
            detector.observe(judged.bucket)
            replayed += 1
        if replayed:
            log.info("%s: detector warmed up from %d stored buckets", topic.name, replayed)
        return detector

    def save(self, store: Store, topic: TopicSettings, last_end_at: datetime) -> None:
        detector = self.by_topic.get(topic.name)
        saved_at = self.saved_at.get(topic.name)
        if detector is None or (saved_at and last_end_at - saved_at < SAVE_STATE_EVERY):
            return
        store.save_detector_state(
            topic.name, self.fingerprint(topic), last_end_at, pickle.dumps(detector)
        )
        self.saved_at[topic.name] = last_end_at


@dataclass(frozen=True)
class Judged:
    bucket: Bucket
    transition: Transition


def evaluate(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    detectors: Detectors,
    now: datetime,
    *,
    extra_sources: Sequence[tuple[str, timedelta]] = (),
    first_start_at: datetime | None = None,
) -> list[Judged]:
    """Close every bucket of ``topic`` that is due, judge it, and move the incident on.

    A bucket closes ``lateness`` after its end, or later while a source has not yet polled
    after it ended (it may still bring the bucket's mentions). It is incomplete when a source
    failed in its span or did not poll within ``lateness`` + its interval after its end.
    """
    width = settings.monitor.bucket
    lateness = settings.monitor.lateness
    sources = [(s.source_name, s.interval) for s in topic.sources if s.type not in PUSH_TYPES]
    sources += [s for s in extra_sources if s[0] not in {n for n, _ in sources}]
    start = (
        store.last_bucket_end(topic.name)
        or first_start_at
        or _first_bucket(store, topic, sources, width)
    )
    if start is None:
        return []
    detector = detectors.get(store, topic)
    judged: list[Judged] = []
    started = time.perf_counter()
    while start + width + lateness <= now:
        end = start + width
        missing: list[str] = []  # sources that left a gap in this bucket
        waiting = False
        for name, interval in sources:
            grace = end + lateness + interval
            if store.poll_count(topic.name, name, start, end, ok=False):
                missing.append(name)
            elif not store.poll_count(topic.name, name, end, grace, ok=True):
                if now < grace:
                    waiting = True
                else:
                    missing.append(name)
        if waiting:
            break
        blind = [
            name
            for name, interval in sources
            if name in missing
            and _written_off(store, settings, topic, name, end, end + lateness + interval)
        ]
        volume, negative, positive = store.count(topic.name, start, end)
        complete = not missing or (len(blind) == len(missing) < len(sources))
        bucket = Bucket(topic.name, start, end, volume, negative, positive, complete)
        if complete and blind:
            judged.append(_judge_without(store, settings, topic, detectors, bucket, blind))
        else:
            detectors.partial.pop(topic.name, None)
            judged.append(_judge(store, settings, topic, detector, bucket))
        start = end
    if judged:
        with store.transaction():
            detectors.save(store, topic, judged[-1].bucket.end_at)
        metrics.EVALUATION_SECONDS.observe(time.perf_counter() - started)
    metrics.OPEN_INCIDENTS.labels(topic.name).set(
        int(store.active_incident(topic.name) is not None)
    )
    return judged


def _first_bucket(
    store: Store, topic: TopicSettings, sources: Sequence[tuple[str, timedelta]], width: timedelta
) -> datetime | None:
    firsts = [store.first_poll_at(topic.name, name) for name, _ in sources]
    known = [f for f in firsts if f is not None]
    if not known:
        first_mention = store.first_mention_at(topic.name)
        return None if first_mention is None else floor_time(first_mention, width)
    return floor_time(min(known), width)


def _written_off(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    source: str,
    end: datetime,
    grace: datetime,
) -> bool:
    """Whether ``source`` had been failing for ``blind_after`` when the bucket ended.

    Such a source no longer holds its topic hostage: its gap is no calm, but the other
    sources' evidence is judged (see :func:`_judge_without`) rather than ignored until it is
    back. A shorter outage still makes the bucket incomplete.
    """
    since = end - settings.alerts.blind_after
    if store.poll_count(topic.name, source, since, grace, ok=True):
        return False
    if store.poll_count(topic.name, source, since, grace, ok=False):
        return True
    state = store.source_state(topic.name, source)  # failing, and backing off since
    return bool(state and state.failing_since and state.failing_since <= since)


def _judge_without(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    detectors: Detectors,
    bucket: Bucket,
    blind: Sequence[str],
) -> Judged:
    """Judge a bucket on the sources that work, learning nothing from it.

    The topic's detector sees a gap, as for any incomplete bucket, so its baseline keeps the
    full set of sources and nothing is off when the failed one returns. The verdict comes from
    a copy made when the stretch began, which carries the evidence from bucket to bucket
    within it (a storm that builds over several buckets is still seen) and is dropped after.
    The bucket is stored as incomplete, with the reason saying how it was judged: a restart
    learns nothing from it either, and an open incident does not resolve during it.
    """
    detector = detectors.get(store, topic)
    partial = detectors.partial.get(topic.name)
    if partial is None:
        partial = detectors.partial[topic.name] = copy.deepcopy(detector)
    gap = replace(bucket, complete=False)
    detector.observe(gap)
    decision = partial.observe(bucket)
    note = (
        f"judged without {', '.join(blind)} (failing for over "
        f"{settings.alerts.blind_after}; not learnt from): "
    )
    return _judge(
        store,
        settings,
        topic,
        detector,
        gap,
        decision=replace(decision, reason=note + decision.reason),
    )


def _judge(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    detector: TopicDetector,
    bucket: Bucket,
    *,
    decision: Decision | None = None,
) -> Judged:
    """Judge ``bucket`` (or take the ``decision`` made on it) and move the incident on."""
    if decision is None:
        decision = detector.observe(bucket)
    metrics.ANOMALY_SCORE.labels(topic.name).set(decision.score)
    active = store.active_incident(topic.name)
    transition = advance(
        active,
        decision,
        bucket,
        incident_policy(settings),
        None if active else store.last_resolved_incident(topic.name),
    )
    with store.transaction():
        store.save_bucket(
            bucket,
            score=decision.score,
            anomalous=decision.anomalous,
            severity=decision.severity,
            expected_negative=decision.expected_negative,
            expected_high=decision.expected_negative_high,
            expected_share=decision.expected_share,
            reason=decision.reason,
        )
        if transition.incident is not None:
            incident = store.save_incident(transition.incident)
            transition = Transition(incident, transition.events)
            _write_events(
                store, settings, topic, incident, transition.events, bucket.end_at, actor=None
            )
    if transition.alerts:
        assert transition.incident is not None
        log.warning(
            "%s: incident #%d %s, severity %d: %s",
            topic.name,
            transition.incident.id,
            transition.events[0].value,
            transition.incident.severity,
            decision.reason,
        )
    return Judged(bucket, transition)


def _write_events(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    incident: Incident,
    events: Sequence[NotificationKind],
    now: datetime,
    *,
    actor: str | None,
) -> None:
    """Record the incident's events and put one notification per alerter in the outbox."""
    if not events:
        return
    silence = silence_at(store, topic, now)
    payload = incident_payload(store, settings, topic, incident, now, actor=actor)
    if silence is not None:
        payload["silenced"] = {"until": silence[0].isoformat(), "reason": silence[1]}
    for kind in events:
        if kind is not NotificationKind.UPDATED:
            store.add_incident_event(incident.id, now, kind.value, actor)
        for alerter in alerter_names(settings):
            if alerter == "console" and kind is NotificationKind.UPDATED:
                continue  # the console cannot edit what it printed; updates would be noise
            store.add_notification(alerter, kind, topic.name, incident.id, now, payload)


def silence_at(
    store: Store, topic: TopicSettings, now: datetime
) -> tuple[datetime, str | None] | None:
    """The end and reason of a silence or planned campaign covering ``now``, if any.

    During a silence incidents are still recorded and posted, so a campaign that backfires
    is still seen in the channel, but nobody is paged: escalations wait until it ends.
    """
    for campaign in topic.campaigns:
        if campaign.start <= now < campaign.end:
            return campaign.end, f"planned campaign: {campaign.name}"
    return store.silence_at(topic.name, now)


def escalate(store: Store, settings: Settings, topic: TopicSettings, now: datetime) -> None:
    """Page again for an incident nobody acknowledged in time (not during a silence)."""
    incident = store.active_incident(topic.name)
    if incident is None or silence_at(store, topic, now) is not None:
        return
    transition = escalate_if_due(incident, incident_policy(settings), now)
    if transition.events and transition.incident is not None:
        with store.transaction():
            store.save_incident(transition.incident)
            _write_events(
                store, settings, topic, transition.incident, transition.events, now, actor=None
            )


def apply(
    store: Store, settings: Settings, transition: Transition, now: datetime, actor: str
) -> Incident | None:
    """Store a human's action on an incident (from Slack or the CLI) and notify about it."""
    incident = transition.incident
    if incident is None or not transition.events:
        return incident
    topic = settings.topic(incident.topic)
    with store.transaction():
        store.save_incident(incident)
        _write_events(store, settings, topic, incident, transition.events, now, actor=actor)
    return incident


# -- deliver -----------------------------------------------------------------------------------


def deliver(
    store: Store, settings: Settings, alerters: Mapping[str, Alerter], now: datetime
) -> int:
    """Send what the outbox holds, in order per incident; returns how many were sent.

    A notification is counted as attempted before it is sent, so after a crash mid-send the
    alerter knows to look before posting again. While a notification waits for its retry, the
    later ones of its incident (or, for source notices, its topic) wait behind it, in this run
    and the next (order matters: "resolved" must not overtake "opened"). A rate limit
    (``retry_after``) holds back every notification of that alerter — one Slack workspace — until
    it has passed, in this run, the next ones and after a restart.
    """
    started = time.perf_counter()
    sent = 0
    for notification in store.due_notifications(now, limit=500):
        # Read for each one: another job (the Slack token check) may have been told to wait.
        if notification.alerter in store.rate_limits(now) or store.waits_behind(notification):
            continue
        alerter = alerters.get(notification.alerter)
        if alerter is None:
            continue
        if _superseded(store, notification, now):
            continue
        message_ref = (
            store.message_ref(notification.incident_id, alerter.name)
            if notification.incident_id is not None
            else None
        )
        store.begin_attempt(notification.id)
        try:
            ref = alerter.send(notification, message_ref, retrying=notification.attempts > 0)
        except AlertError as exc:
            _failed(store, settings, notification, exc, now)
            if exc.retry_after is not None and not exc.permanent:
                # The wait counts from when the answer came, not from when this run began.
                answered_at = now + timedelta(seconds=time.perf_counter() - started)
                _rate_limited(store, notification.alerter, exc, answered_at)
            continue
        except Exception as exc:  # an alerter bug must not stop the outbox
            log.exception("%s: delivering notification %d crashed", alerter.name, notification.id)
            _failed(store, settings, notification, AlertError(alerter.name, str(exc)), now)
            continue
        with store.transaction():
            if ref is not None and notification.incident_id is not None:
                store.set_message_ref(notification.incident_id, alerter.name, ref)
            store.mark_sent(notification.id, now)
        sent += 1
    counts = store.notification_counts()
    metrics.NOTIFICATIONS_PENDING.set(sum(n for (_, s), n in counts.items() if s == "pending"))
    metrics.NOTIFICATIONS_FAILED.set(sum(n for (_, s), n in counts.items() if s == "failed"))
    return sent


def _rate_limited(store: Store, alerter: str, exc: AlertError, answered_at: datetime) -> None:
    """Record that ``alerter`` must not be called before its ``Retry-After`` has passed."""
    assert exc.retry_after is not None
    until = answered_at + exc.retry_after
    store.set_rate_limit(alerter, until, exc.message)
    log.warning(
        "%s: rate limited; no notification goes out before %s",
        alerter,
        until.isoformat(timespec="seconds"),
    )


def _superseded(store: Store, notification: Notification, now: datetime) -> bool:
    """An update followed by a newer snapshot of the same incident need not be sent.

    Every incident payload is a full snapshot, so when updates come faster than Slack takes
    them only the latest is sent (``chat.update`` coalescing).
    """
    if notification.kind is not NotificationKind.UPDATED or notification.incident_id is None:
        return False
    if not store.pending_after(notification):
        return False
    store.mark_superseded(notification.id, now)
    return True


def _failed(
    store: Store, settings: Settings, notification: Notification, exc: AlertError, now: datetime
) -> None:
    if exc.permanent:
        log.error(
            "%s: notification %d failed for good: %s", exc.alerter, notification.id, exc.message
        )
        store.mark_failed(notification.id, exc.message)
        return
    # A Retry-After is not this notification's own: deliver() holds back the whole alerter.
    wait = min(
        settings.alerts.retry_initial * (2 ** min(notification.attempts, 16)),
        settings.alerts.retry_max,
    )
    log.warning(
        "%s: notification %d not delivered (%s); retrying in %s",
        exc.alerter,
        notification.id,
        exc.message,
        wait,
    )
    store.mark_retry(notification.id, exc.message, now + wait)


def prune(store: Store, settings: Settings, now: datetime) -> int:
    """Apply retention: old mentions and poll records go; buckets and incidents stay."""
    keep = settings.monitor.keep_mentions
    return store.prune(now - keep, now - max(keep, timedelta(days=7)))
