"""Judging a closed bucket: the detector's verdict, stored with the bucket, moves the incident."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from alerts.incidents import Transition, advance
from detectors import Decision, TopicDetector
from monitor import metrics
from monitor.models import Bucket
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.pipeline.notify import incident_policy, write_events
from monitor.settings import TopicSettings

log = logging.getLogger("monitor.pipeline")


@dataclass(frozen=True)
class Judged:
    """A closed bucket as it was stored, and what it did to the topic's incident."""

    bucket: Bucket
    transition: Transition


def judge_closed(
    ctx: Context,
    topic: TopicSettings,
    detectors: Detectors,
    bucket: Bucket,
    written_off: Sequence[str],
) -> Judged:
    """Judge a bucket that closed; while sources are ``written_off``, on the others alone.

    Judged without a source, a bucket teaches nothing: the topic's detector sees a gap, as
    for any incomplete bucket, so its baseline keeps the full set of sources and nothing is
    off when the failed one returns. The verdict comes from the copy made when the stretch
    began (:meth:`Detectors.written_off`). The bucket is stored as incomplete, with the reason
    saying how it was judged: a restart learns nothing from it either, and an open incident
    does not resolve during it.
    """
    detector = detectors.get(ctx.store, topic)
    if not written_off:
        detectors.end_written_off(topic)
        return _judge(ctx, topic, detector, bucket)
    partial = detectors.written_off(ctx.store, topic)
    gap = replace(bucket, complete=False)
    detector.observe(gap)
    decision = partial.observe(bucket)
    note = (
        f"judged without {', '.join(written_off)} (failing for over "
        f"{ctx.settings.alerts.blind_after}; not learnt from): "
    )
    decision = replace(decision, reason=note + decision.reason)
    return _judge(ctx, topic, detector, gap, decision=decision)


def _judge(
    ctx: Context,
    topic: TopicSettings,
    detector: TopicDetector,
    bucket: Bucket,
    *,
    decision: Decision | None = None,
) -> Judged:
    """Judge ``bucket`` (or take the ``decision`` made on it) and move the incident on."""
    store = ctx.store
    if decision is None:
        decision = detector.observe(bucket)
    metrics.ANOMALY_SCORE.labels(topic.name).set(decision.score)
    active = store.active_incident(topic.name)
    transition = advance(
        active,
        decision,
        bucket,
        incident_policy(ctx.settings),
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
            write_events(ctx, topic, incident, transition.events, bucket.end_at, actor=None)
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
