"""The topic's own terms carry no sentiment: they are replaced before any scorer reads a post.

A brand called "Monster", a town called "Bad Homburg" or a film called "Kill Bill" would
otherwise make every mention negative. Each configured term is matched as a whole word, in any
case, with or without its "#" or "@", written apart or run together ("#KillBill"), and with a
possessive or plural "s" ("Monster's"), and replaced by a placeholder that no scorer knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A word no lexicon lists and the trained scorer skips; it keeps the sentence's word count, so
# negation and intensifier windows still reach across it as they would across the name.
PLACEHOLDER = "xtopicx"


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``terms``, longest first; None when there are none.

    >>> term_pattern(["Bad Homburg"]).sub("_", "#BadHomburg, bad homburg's, Bad Homburger")
    '_, _, Bad Homburger'
    """
    alternatives: set[str] = set()
    for term in terms:
        words = term.strip().lstrip("#@").split()
        if words:
            alternatives.add(r"[\s_-]*".join(re.escape(word) for word in words))
    if not alternatives:
        return None
    ordered = sorted(alternatives, key=lambda text: (-len(text), text))
    return re.compile(r"(?<!\w)[#@]?(?:" + "|".join(ordered) + r")(?:['’]?s)?(?!\w)", re.IGNORECASE)


def neutralise(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every match of ``pattern`` replaced by :data:`PLACEHOLDER`.

    >>> neutralise("Monster ist ein Monster von Getränk", term_pattern(["Monster"]))
    'xtopicx ist ein xtopicx von Getränk'
    """
    if pattern is None:
        return text
    return pattern.sub(PLACEHOLDER, text)
