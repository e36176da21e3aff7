"""Storm size on a 0–6 scale, modelled on the German "Shitstorm-Skala".

The scale reads well to social media teams: 0 is calm, 6 is nationwide outrage. A level needs
both a large ratio to the usual negative volume *and* enough extra negative mentions, so eight
posts where 0.2 were expected stay "unusual chatter" however large their ratio, and a few dozen
extra posts on a big brand stay modest however certain they are.
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
# Extra negative mentions needed for levels 2..6, in multiples of the storm minimum.
_EXCESS_STEPS = (2.0, 4.0, 8.0, 16.0, 32.0)


def severity(observed: float, expected: float, min_negative: int) -> int:
    """Level 1–6 of a storm with ``observed`` negative mentions where ``expected`` were usual.

    Monotone: more observed mentions never lower the level. ``min_negative`` is the smallest
    storm the policy accepts; level 6 needs 32 times that many extra mentions.

    Examples
    --------
    >>> from detectors.severity import severity
    >>> severity(observed=30, expected=10, min_negative=8)  # 3x, 20 extra
    2
    >>> severity(observed=8, expected=0.2, min_negative=8)  # "0 vs 8": large ratio, few posts
    1
    >>> severity(observed=9000, expected=90, min_negative=8)
    6

    """
    ratio = observed / expected if expected > 0 else float("inf")
    excess = observed - expected
    by_ratio = 1 + sum(ratio >= step for step in _RATIO_STEPS)
    by_excess = 1 + sum(excess >= step * min_negative for step in _EXCESS_STEPS)
    return min(by_ratio, by_excess)
