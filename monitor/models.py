"""The records that flow through the pipeline, as frozen dataclasses.

Every instant is an aware UTC datetime and ends in ``_at``; every duration is a ``timedelta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Mention:
    """One post, comment or article that names a topic, as a source delivered it.

    ``source`` is the configured source's name and ``id`` the platform's own id: together with
    the topic they identify a mention, which is what makes ingest idempotent.
    """

    source: str
    id: str
    created_at: datetime
    text: str
    lang: str | None = None
    author: str | None = None
    url: str | None = None
    # Platform counters where the source gives them: likes, reposts, replies, followers ...
    engagement: Mapping[str, int] = field(default_factory=dict)
    # For a reply, the platform id of the post it answers (where the source says).
    reply_to: str | None = None


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


def most_probable(probabilities: tuple[float, float, float]) -> Label:
    """The label of calibrated (negative, neutral, positive) probabilities: the most probable
    one, negative on a tie (a doubtful negative is the one worth counting).

    >>> most_probable((0.4, 0.4, 0.2)), most_probable((0.2, 0.4, 0.4))
    (<Label.NEGATIVE: 'negative'>, <Label.NEUTRAL: 'neutral'>)
    """
    negative, neutral, positive = probabilities
    if negative >= neutral and negative >= positive:
        return Label.NEGATIVE
    return Label.POSITIVE if positive > neutral else Label.NEUTRAL


@dataclass(frozen=True)
class Sentiment:
    """A scorer's verdict on one text: a label, a polarity in [-1, 1] and the language used.

    ``probabilities`` are the calibrated chances of negative, neutral and positive where the
    scorer gives them (the trained models do); a scorer without them is sure of its label.
    """

    label: Label
    score: float
    lang: str
    probabilities: tuple[float, float, float] | None = None

    @property
    def p_negative(self) -> float:
        if self.probabilities is None:
            return float(self.label is Label.NEGATIVE)
        return self.probabilities[0]

    @property
    def p_neutral(self) -> float:
        if self.probabilities is None:
            return float(self.label is Label.NEUTRAL)
        return self.probabilities[1]


@dataclass(frozen=True, slots=True)
class Readings:
    """What the scorer's probabilities add up to over one bucket's mentions.

    ``negative`` and ``neutral`` are the expected numbers of negative and neutral mentions (the
    sums of P(negative) and P(neutral)); the sums of squares and of products are what the
    detector needs to know how noisy those sums are. Read as labels (each mention surely its
    label), they are the label counts and their own squares, and the products are 0.
    """

    negative: float = 0.0
    neutral: float = 0.0
    negative_sq: float = 0.0
    neutral_sq: float = 0.0
    cross: float = 0.0

    @classmethod
    def of_labels(cls, negative: float, neutral: float) -> Readings:
        """The readings of mentions counted by label: ``negative`` and ``neutral`` of them."""
        return cls(negative, neutral, negative, neutral, 0.0)


@dataclass(frozen=True)
class Bucket:
    """What one topic received in one time bucket, counted by the mentions' ``created_at``.

    ``complete`` is false when a source of the topic failed or was not polled in the span:
    such a bucket is neither learnt from nor alerted on (a gap is not a calm).
    """

    topic: str
    start_at: datetime
    end_at: datetime
    volume: int
    negative: int
    positive: int
    complete: bool = True
    # The scorer's probabilities summed over the bucket's mentions; None where only labels
    # are known (a count CSV, a scorer without probabilities, buckets stored before them).
    readings: Readings | None = None

    @property
    def sums(self) -> Readings:
        """The bucket's :class:`Readings`, from its label counts where it has no others."""
        if self.readings is not None:
            return self.readings
        return Readings.of_labels(self.negative, self.volume - self.negative - self.positive)

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0

    @property
    def width(self) -> timedelta:
        return self.end_at - self.start_at


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """A negative spike on one topic, from the first anomalous bucket until it is resolved."""

    id: int
    topic: str
    status: IncidentStatus
    severity: int
    opened_at: datetime
    updated_at: datetime
    last_anomaly_at: datetime
    peak_severity: int
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    feedback: str | None = None
    # When it last started paging (opened or reopened): the escalation clock runs from here.
    triggered_at: datetime | None = None
    escalations: int = 0
    last_escalated_at: datetime | None = None
    reopened: int = 0

    @property
    def is_active(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED


class NotificationKind(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    UPDATED = "updated"
    SEVERITY_UP = "severity_up"
    ACKNOWLEDGED = "acknowledged"
    FEEDBACK = "feedback"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    SOURCE_DOWN = "source_down"
    SOURCE_UP = "source_up"


@dataclass(frozen=True)
class Notification:
    """One row of the outbox: something an alerter must tell, delivered later and at most once."""

    id: int
    alerter: str
    kind: NotificationKind
    topic: str
    incident_id: int | None
    created_at: datetime
    payload: Mapping[str, Any]
    attempts: int = 0
