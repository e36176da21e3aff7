"""Splits a social media post into the tokens the rule scorers read.

Links and @-handles are recognised so that they carry no sentiment; emoticons are recognised
before words so that ``:D`` is not the word ``D``; runs of ``!`` and ``?`` are kept as one token
because their length is the signal.
"""

from __future__ import annotations

import html
import re
from enum import Enum
from typing import NamedTuple

from monitor.sentiment.emoji import EMOTICON_PATTERN


class Kind(Enum):
    WORD = "word"
    HASHTAG = "hashtag"
    EMOTICON = "emoticon"
    BANG = "bang"
    QUESTION = "question"
    BREAK = "break"
    SYMBOL = "symbol"


class Token(NamedTuple):
    kind: Kind
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


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; HTML entities (``&lt;3``, ``&amp;``) are decoded first.

    >>> [t.text for t in tokenize("Nie wieder @bahn!!! :( https://t.co/x")]
    ['Nie', 'wieder', '!!!', ':(']
    """
    if "&" in text:
        text = html.unescape(text)
    found: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        group = match.lastgroup
        if group == "skip":
            continue
        value = match.group(group or 0)  # the named group: without the whitespace in front
        if group == "plain" or group == "word":
            found.append(Token(Kind.WORD, value, value.lower()))
        elif group == "hashtag":
            found.append(Token(Kind.HASHTAG, value, value[1:].lower()))
        elif group == "emoticon":
            found.append(Token(Kind.EMOTICON, value, value))
        elif group == "bang":
            found.append(Token(Kind.BANG, value, value))
        elif group == "question":
            found.append(Token(Kind.QUESTION, value, value))
        elif group == "stop" or group == "dash":
            found.append(Token(Kind.BREAK, value.strip(), value.strip()))
        else:
            found.append(Token(Kind.SYMBOL, value, value))
    return found
