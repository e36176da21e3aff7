"""Which topics a text mentions: their terms matched as whole words, hashtags, handles, cashtags.

A stream hands us every post on a network, so the question "does this text name any of these
hundreds of terms?" is asked tens of times a second and mostly answered "no". Trying each term
(or one regex alternation of all of them) costs time in proportion to the number of terms; here
the text is cut into words once and the words are looked up in a set, so the cost follows the
length of the text, not the number of terms.

How a term matches, always ignoring case:

- ``Acme`` — the whole word, also inside ``#acme``, ``$acme`` or ``@acme.com`` (not ``Acmes``);
- ``Acme Cloud`` — the words in sequence (punctuation between them is ignored);
- ``#acme`` — only that hashtag; ``$ACME`` — only that cashtag;
- ``@acme.com`` — only a mention of that handle; ``@acme`` also matches a handle whose first
  label it is (``@acme.bsky.social``), since a term without a dot names the account, whatever
  domain it lives under.

Terms with other characters (``AT&T``, ``C++``) fall back to one regular expression, bounded
so they too match only as whole words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

_WORDS = re.compile(r"\w+")
# A sigil starts a token only where no word (or, for handles, no address) runs into it, so
# "info@acme.com" is no mention and "page#acme" no hashtag.
_TAGS = re.compile(r"(?<![\w@.])@[\w-]+(?:\.[\w-]+)*|(?<![\w&])#\w+|(?<!\w)\$\w+")
_PLAIN_TERM = re.compile(r"\w+(?:[\s-]+\w+)*")
_TAG_TERM = re.compile(r"@[\w-]+(?:\.[\w-]+)*|#\w+|\$\w+")


class TermMatcher:
    """Match texts against many keys' terms at once; keys are usually topic names.

    >>> matcher = TermMatcher({"acme": ["Acme", "#acme"], "globex": ["@globex", "Globex Cloud"]})
    >>> sorted(matcher.match("Down again? #ACME support is useless"))
    ['acme']
    >>> sorted(matcher.match("Thanks @globex.bsky.social, the globex cloud is back"))
    ['globex']
    >>> matcher.match("Acmeville has nice weather")
    set()
    """

    def __init__(self, terms_by_key: Mapping[str, Iterable[str]]) -> None:
        self._words: dict[str, set[str]] = {}
        self._tags: dict[str, set[str]] = {}
        # First word of a phrase → (the words that must follow, keys).
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        odd: list[tuple[str, str]] = []
        for key, terms in terms_by_key.items():
            for raw in terms:
                term = raw.strip().casefold()
                if not term:
                    continue
                if _TAG_TERM.fullmatch(term):
                    self._tags.setdefault(term, set()).add(key)
                elif _PLAIN_TERM.fullmatch(term):
                    first, *rest = _WORDS.findall(term)
                    if rest:
                        self._phrases.setdefault(first, []).append((tuple(rest), key))
                    else:
                        self._words.setdefault(first, set()).add(key)
                else:
                    odd.append((term, key))
        self._starts = frozenset(self._words) | frozenset(self._phrases)
        self._odd_keys = [key for _, key in odd]
        self._odd = (
            re.compile(
                "|".join(f"(?<!\\w)({re.escape(term)})(?!\\w)" for term, _ in odd), re.IGNORECASE
            )
            if odd
            else None
        )

    @property
    def keys(self) -> set[str]:
        found = set(self._odd_keys)
        for keys in (*self._words.values(), *self._tags.values()):
            found |= keys
        for phrases in self._phrases.values():
            found |= {key for _, key in phrases}
        return found

    def match(self, text: str) -> set[str]:
        """The keys whose terms ``text`` names (an empty set for almost every text)."""
        folded = text.casefold()
        words = _WORDS.findall(folded)
        hits: set[str] = set()
        for word in self._starts.intersection(words):
            hits |= self._words.get(word, set())
            if word in self._phrases:
                hits |= self._phrase_hits(words, word)
        if self._tags and ("@" in folded or "#" in folded or "$" in folded):
            for tag in _TAGS.findall(folded):
                hits |= self._tag_hits(tag)
        if self._odd is not None:
            for found in self._odd.finditer(text):
                hits.add(self._odd_keys[(found.lastindex or 1) - 1])
        return hits

    def _phrase_hits(self, words: Sequence[str], first: str) -> set[str]:
        hits: set[str] = set()
        for index, word in enumerate(words):
            if word != first:
                continue
            for rest, key in self._phrases[first]:
                if tuple(words[index + 1 : index + 1 + len(rest)]) == rest:
                    hits.add(key)
        return hits

    def _tag_hits(self, tag: str) -> set[str]:
        hits = set(self._tags.get(tag, ()))
        if tag.startswith("@") and "." in tag:
            hits |= self._tags.get(tag.split(".", 1)[0], set())
        return hits
