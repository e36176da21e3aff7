"""Splits a social media post into the tokens the rule scorers read.

Links and @-handles are recognised so that they carry no sentiment; emoticons are recognised
before words so that ``:D`` is not the word ``D``; runs of ``!`` and ``?`` are kept as one token
because their length is the signal.
"""

from __future__ import annotations

import html
import re
from typing import Final, Literal, NamedTuple

from monitor.sentiment.emoji import EMOTICON_PATTERN

TokenKind = Literal["word", "hashtag", "emoticon", "bang", "question", "break", "symbol"]


class Kind:
    """What a token is: compare with ``is``, as ``token.kind is Kind.WORD``.

    Plain constants rather than an Enum: on Python 3.11 reading an Enum member goes through the
    enum's ``__getattr__`` hook and costs over ten times a class attribute, and the scorers
    ask several times per token (this made the German rules a third slower).
    """

    WORD: Final = "word"
    HASHTAG: Final = "hashtag"
    EMOTICON: Final = "emoticon"
    BANG: Final = "bang"
    QUESTION: Final = "question"
    BREAK: Final = "break"
    SYMBOL: Final = "symbol"


class Token(NamedTuple):
    kind: TokenKind
    text: str
    # The lowercased text; for hashtags without the "#".
    lower: str


# Two shortcuts keep this at a few microseconds a word without changing a single token:
# whitespace is consumed in front of each match (a position the alternatives would all fail
# at), and a word whose first letter cannot begin a link ("http", "www"), an emoticon ("D:",
# "T_T") or anything else before the word alternative is taken at once (``plain``). The
# spaced dash is matched apart, before any whitespace is consumed, because it includes it.
_TOKEN_RE = re.compile(
    rf"""
    (?P<dash>\s+[-–—]\s)
    | \s*(?:
      (?P<plain>[^\W\d_hwDT][^\W\d_]*(?:['’-][^\W\d_]+)*)
    | (?P<skip>https?://\S+|www\.\S+|@\w+|\b\d+(?:[.,:]\d+)*\b)
    | (?P<emoticon>(?<![/])(?:{EMOTICON_PATTERN})(?![\w/]))
    | (?P<hashtag>\#\w+)
    | (?P<word>[^\W\d_]+(?:['’-][^\W\d_]+)*)
    | (?P<bang>[!?]*![!?1]*)
    | (?P<question>\?+)
    | (?P<stop>[.,;:…()\[\]"“”„]+)
    | (?P<symbol>[^\w\s])
    )
    """,
    re.VERBOSE,
)


# The groups by number: ``lastindex`` is cheaper than ``lastgroup``, and the alternatives hold
# no unnamed groups, so the last group that matched is the alternative that did.
assert _TOKEN_RE.groups == len(_TOKEN_RE.groupindex)
_GROUP = _TOKEN_RE.groupindex
_WORDS, _SKIP, _HASHTAG, _BREAKS = (
    (_GROUP["plain"], _GROUP["word"]),
    _GROUP["skip"],
    _GROUP["hashtag"],
    (_GROUP["stop"], _GROUP["dash"]),
)
_AS_WRITTEN: dict[int, TokenKind] = {
    _GROUP[kind]: kind for kind in (Kind.EMOTICON, Kind.BANG, Kind.QUESTION, Kind.SYMBOL)
}


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; HTML entities (``&lt;3``, ``&amp;``) are decoded first.

    >>> [t.text for t in tokenize("Nie wieder @bahn!!! :( https://t.co/x")]
    ['Nie', 'wieder', '!!!', ':(']
    """
    if "&" in text:
        text = html.unescape(text)
    found: list[Token] = []
    append = found.append
    for match in _TOKEN_RE.finditer(text):
        group = match.lastindex or 0
        value = match[group]  # the group alone: without the whitespace in front
        if group in _WORDS:  # first: four tokens in five are words
            append(Token(Kind.WORD, value, value.lower()))
        elif group == _SKIP:
            continue
        elif group in _BREAKS:
            value = value.strip()
            append(Token(Kind.BREAK, value, value))
        elif group == _HASHTAG:
            append(Token(Kind.HASHTAG, value, value[1:].lower()))
        else:
            append(Token(_AS_WRITTEN[group], value, value))
    return found
