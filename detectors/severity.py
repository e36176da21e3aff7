"""Storm size on a 0–6 scale, modelled on the German "Shitstorm-Skala".

The scale reads well to social media teams: 0 is calm, 6 is nationwide outrage. A bucket's
level needs both a large ratio to the usual volume *and* strong evidence, so eight posts where
0.2 were expected stay "unusual chatter" however large their ratio, and a few hundred extra
posts on a big brand stay modest however certain they are.
"""

from __future__ import annotations

SEVERITY_LABELS = (
    "calm",
    "unusual chatter",
    "growing criticism",
    "criticism spreading",
    "storm",
    "strong storm",
    "nationwide outrage",
)

MAX_SEVERITY = len(SEVERITY_LABELS) - 1

# Ratio of observed to expected negative volume needed for levels 2..6 (level 1 is any storm).
_RATIO_STEPS = (2.0, 4.0, 8.0, 16.0, 32.0)
# Evidence needed for levels 2..6, in multiples of the opening threshold.
_EVIDENCE_STEPS = (1.5, 2.0, 3.0, 4.0, 6.0)


def severity(ratio: float, score: float, threshold: float) -> int:
    """Level 1–6 of a storm bucket with this observed/expected ratio and score.

    Monotone: a larger ratio or a larger score never lowers the level.

    Examples
    --------
    >>> from detectors.severity import severity
    >>> severity(ratio=3.0, score=6.0, threshold=4.0)
    2
    >>> severity(ratio=40.0, score=4.5, threshold=4.0)  # "0 vs 8": large ratio, thin evidence
    1
    >>> severity(ratio=100.0, score=80.0, threshold=4.0)
    6

    """
    by_ratio = 1 + sum(ratio >= step for step in _RATIO_STEPS)
    by_evidence = 1 + sum(score >= threshold * step for step in _EVIDENCE_STEPS)
    return min(by_ratio, by_evidence)
