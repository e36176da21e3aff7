"""Each topic's detector: restored from its saved state or rebuilt from stored buckets.

A saved state is only reused when it was written by the same river version, detector state
version and detection settings (:meth:`Detectors.fingerprint`); otherwise the detector is
rebuilt and replayed over the stored buckets, so a restart never opens a blind warm-up window.
"""

from __future__ import annotations

import copy
import logging
import pickle
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import version

from detectors import STATE_VERSION, TopicDetector, build_detector
from monitor.settings import Settings, TopicSettings
from monitor.store import Store

log = logging.getLogger("monitor.pipeline")

# A saved detector state is only reused under the river version that wrote it.
RIVER_VERSION = version("river")
# How often (in bucket time) a topic's detector state is saved. Buckets judged after the last
# save are replayed into the detector on a restart, so saving less often loses nothing.
SAVE_STATE_EVERY = timedelta(hours=1)


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

    def written_off(self, store: Store, topic: TopicSettings) -> TopicDetector:
        """The copy that judges while a source is written off, made when the stretch began.

        It carries the evidence from bucket to bucket within the stretch (a storm that builds
        over several buckets is still seen); :meth:`end_written_off` drops it after.
        """
        partial = self.partial.get(topic.name)
        if partial is None:
            partial = self.partial[topic.name] = copy.deepcopy(self.get(store, topic))
        return partial

    def end_written_off(self, topic: TopicSettings) -> None:
        self.partial.pop(topic.name, None)

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
            detector = build_detector(self.settings.detection_for(topic), self.settings.zone(topic))
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
