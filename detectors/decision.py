"""What the detector concludes about one bucket, for the incident machine and for people."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The verdict on one bucket of one topic.

    ``score`` grows with how unusual the negative volume is (about one unit per standard
    deviation above the seasonal expectation); ``anomalous`` is the policy's verdict that the
    bucket belongs to a shitstorm, ``severity`` its size on the 0–6 scale of
    :mod:`detectors.severity`. The expectations are for charts and messages: the usual negative
    volume of this bucket, the upper edge of its normal band, and the usual negative share.
    """

    score: float
    anomalous: bool
    severity: int
    expected_negative: float
    expected_negative_high: float
    expected_share: float
    reason: str
    warming_up: bool
