"""The project's German rule scorer: lexicon valences adjusted by the rules people read by.

Negation flips a word ("nicht gut") and softens a flipped complaint ("kein Problem"); German
puts the negation after the verb too ("das gefällt mir nicht"). Intensifiers and downtoners scale
the next word, capitals and "!!!" raise the volume, a clause after "aber" outweighs the one
before, and praise inside a complaint is read as sarcasm ("Toll, schon wieder zu spät").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from monitor.sentiment import german_lexicon as lex
from monitor.sentiment.emoji import EMOJI, emoticon_valence
from monitor.sentiment.tokens import Kind, Token, tokenize

# How far (in words) a negator or intensifier reaches forward, and a trailing negator back.
_NEGATION_REACH = 3
_TRAILING_NEGATION_REACH = 3
_INTENSIFIER_REACH = 2
# A negated complaint is a mild relief ("kein Problem": 40 % of its weight, turned positive),
# a negated praise a clear complaint ("nicht gut": 80 %, turned negative).
_NEGATED_COMPLAINT_SHARE = 0.4
_NEGATED_PRAISE_SHARE = 0.8
# A service verb under negation is a complaint of this valence ("funktioniert nicht").
_BROKEN_VALENCE = -1.0
_CAPS_BOOST = 1.4
# "Liebe Kolleginnen", "Lieber Kundenservice": a letter's form of address, barely a sentiment.
_SALUTATION_VALENCE = 0.2
_BANG_STEP = 0.25
_BANG_MAX = 3
# Sarcastic praise is taken away and counted against: net, half its valence as a complaint.
_SARCASM_FLIP = 1.5
_BEFORE_CONTRAST = 0.5
_AFTER_CONTRAST = 1.5
# Squashes the summed valences into (-1, 1); larger means more words are needed for a high score.
_SQUASH = 2.0
# Texts longer than this (news articles, forum posts) are averaged rather than summed, so that
# a few loaded words in a long neutral report do not make it a complaint.
_LONG_TEXT_WORDS = 40
# A post that shares a link mostly reports (headlines, offers) unless it shows emotion itself:
# its words count less.
_LINK_DAMPING = 0.6
_EMOTIVE = frozenset({Kind.EMOTICON, Kind.BANG, Kind.SYMBOL})
# The base lexicon lists standard-language polarity ("Abfallwirtschaft" -1); one such word
# alone should not make a post a complaint, so it counts less than the curated lists.
_BASE_WEIGHT = 0.3
# Inflection endings tried, longest first, when a word is not listed as written.
_SUFFIXES = (
    "sten", "ste", "ten", "est", "ern", "em", "en", "er", "es", "st", "te", "e", "n", "s", "t",
)  # fmt: skip


@dataclass(slots=True)
class _Item:
    """One sentiment-bearing unit: a word, an expression, a hashtag, an emoji."""

    position: int
    valence: float
    key: str
    is_verb_of_function: bool = False


class GermanScorer:
    """Polarity in [-1, 1] of a German text. Stateless after construction, so thread-safe."""

    def polarity(self, text: str) -> float:
        return self.polarity_of_tokens(text, tokenize(text))

    def polarity_of_tokens(self, text: str, tokens: list[Token]) -> float:
        """The polarity of ``text`` whose ``tokenize`` result the caller already has."""
        items, words = _items(tokens)
        if not items:
            return 0.0
        total = sum(item.valence for item in items)
        total = _apply_sarcasm(items, total, tokens)
        if total == 0.0:
            return 0.0
        if words > _LONG_TEXT_WORDS:
            total *= math.sqrt(_LONG_TEXT_WORDS / words)
        if _shares_link(text) and not any(t.kind in _EMOTIVE for t in tokens):
            total *= _LINK_DAMPING
        total += math.copysign(_emphasis(tokens), total)
        return total / math.sqrt(total * total + _SQUASH)


def _shares_link(text: str) -> bool:
    return "http" in text or "www." in text


def _items(tokens: list[Token]) -> tuple[list[_Item], int]:
    """The sentiment-bearing items of ``tokens`` after negation, intensity and contrast."""
    shouting = _is_shouting(tokens)
    items: list[_Item] = []
    words = 0
    clause_start = 0
    contrast_at: int | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.kind
        if kind is Kind.BREAK or kind is Kind.BANG or kind is Kind.QUESTION:
            clause_start = i + 1
            i += 1
            continue
        if kind is Kind.EMOTICON:
            items.append(_Item(i, emoticon_valence(token.text), token.text))
            i += 1
            continue
        if kind is Kind.SYMBOL:
            valence = EMOJI.get(token.text, 0.0)
            if valence:
                items.append(_Item(i, valence, token.text))
            i += 1
            continue
        words += 1
        if kind is Kind.WORD and token.lower in lex.CONTRAST:
            contrast_at = i
            clause_start = i + 1
            i += 1
            continue
        phrase = _phrase_at(tokens, i) if kind is Kind.WORD else None
        if phrase is not None:
            length, valence = phrase
            key = "_".join(t.lower for t in tokens[i : i + length])
            items.append(_Item(i, valence, key))
            words += length - 1
            i += length
            continue
        valence = _lookup(token.lower)
        if valence and token.lower in lex.INTENSIFIERS and _modifies_next(tokens, i):
            # "mega schlecht", "super teuer": here the word only intensifies the next one.
            valence = 0.0
        if token.lower in lex.SALUTATIONS and _is_salutation(tokens, i):
            valence = _SALUTATION_VALENCE
        functional = token.lower in lex.BROKEN_WHEN_NEGATED
        if valence or functional:
            if not shouting and len(token.text) > 2 and token.text.isupper():
                valence *= _CAPS_BOOST
            valence *= _intensity(tokens, i, clause_start)
            item = _Item(i, valence, token.lower, functional)
            if _negated(tokens, i, clause_start):
                item.valence = _negate(item)
            items.append(item)
        i += 1
    if contrast_at is not None:
        for item in items:
            item.valence *= _BEFORE_CONTRAST if item.position < contrast_at else _AFTER_CONTRAST
    return items, words


def _modifies_next(tokens: list[Token], i: int) -> bool:
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    return following is not None and following.kind is Kind.WORD and bool(_lookup(following.lower))


def _is_salutation(tokens: list[Token], i: int) -> bool:
    """ "Liebe Bahn, ..." addresses someone; "ich liebe Bahnfahren" does not."""
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if following is None or following.kind is not Kind.WORD or not following.text[0].isupper():
        return False
    previous = tokens[i - 1] if i > 0 else None
    return previous is None or previous.kind is not Kind.WORD or previous.lower not in lex.PRONOUNS


def _phrase_at(tokens: list[Token], start: int) -> tuple[int, float] | None:
    if tokens[start].lower not in lex.PHRASE_STARTS:
        return None
    for length in range(lex.MAX_PHRASE_WORDS, 1, -1):
        window = tokens[start : start + length]
        if len(window) < length or any(t.kind is not Kind.WORD for t in window):
            continue
        valence = lex.PHRASES.get(tuple(t.lower for t in window))
        if valence is not None:
            return length, valence
    return None


def _negate(item: _Item) -> float:
    """The valence of a negated item: flipped, and weaker for a negated complaint."""
    if item.is_verb_of_function and item.valence <= 0.5:
        return _BROKEN_VALENCE
    if item.valence < 0:
        return -item.valence * _NEGATED_COMPLAINT_SHARE
    return -item.valence * _NEGATED_PRAISE_SHARE


def _negated(tokens: list[Token], i: int, clause_start: int) -> bool:
    """Whether a negator precedes word ``i`` closely, or closes its clause right after it."""
    for j in range(max(clause_start, i - _NEGATION_REACH), i):
        if tokens[j].kind is Kind.WORD and tokens[j].lower in lex.NEGATORS:
            return True
    # "Das gefällt mir nicht.": the negator trails, with no other sentiment word in between.
    for j in range(i + 1, min(len(tokens), i + 1 + _TRAILING_NEGATION_REACH)):
        token = tokens[j]
        if token.kind is not Kind.WORD:
            return False
        if token.lower in lex.NEGATORS:
            k = j + 1
            while k < len(tokens) and tokens[k].lower in lex.NEGATION_TAIL:
                k += 1
            return k >= len(tokens) or tokens[k].kind is not Kind.WORD
        if _lookup(token.lower):
            return False
    return False


def _intensity(tokens: list[Token], i: int, clause_start: int) -> float:
    for j in range(i - 1, max(clause_start, i - _INTENSIFIER_REACH) - 1, -1):
        token = tokens[j]
        if token.kind is Kind.WORD:
            factor = lex.INTENSIFIERS.get(token.lower)
            if factor is not None:
                return factor
    return 1.0


def _is_shouting(tokens: list[Token]) -> bool:
    """A text written all in capitals: capitals then say nothing about single words."""
    letters = [t.text for t in tokens if t.kind is Kind.WORD and len(t.text) > 1]
    return bool(letters) and all(word.isupper() for word in letters)


def _apply_sarcasm(items: list[_Item], total: float, tokens: list[Token]) -> float:
    """Reads praise as sarcasm when the text also complains or says it is ironic."""
    complaint = sum(item.valence for item in items if item.valence < 0)
    ironic = any(
        t.lower in lex.IRONY_WORDS or (t.kind is Kind.HASHTAG and t.lower in lex.IRONY_HASHTAGS)
        for t in tokens
    )
    if not ironic and complaint > -1.0:
        return total
    flipped = total
    for item in items:
        if item.valence > 0 and (ironic or item.key in lex.SARCASM_PRONE):
            flipped -= _SARCASM_FLIP * item.valence
    return flipped


def _emphasis(tokens: list[Token]) -> float:
    """Extra intensity from "!!!" and "?!": it raises whatever the words already say."""
    bangs = 0
    questions = 0
    for token in tokens:
        if token.kind is Kind.BANG:
            bangs += token.text.count("!") + token.text.count("1")
            questions += token.text.count("?")
        elif token.kind is Kind.QUESTION and len(token.text) > 1:
            questions += len(token.text)
    emphasis = min(bangs, _BANG_MAX) * _BANG_STEP
    if questions > 1:
        emphasis += min(questions, _BANG_MAX) * _BANG_STEP / 2
    return emphasis


@lru_cache(maxsize=1 << 17)
def _lookup(word: str) -> float:
    """The valence of one lowercased word, trying inflections and compounds the lists lack."""
    own = lex.OWN_LEXICON.get(word)
    if own is not None:
        return own
    if word in lex.NEUTRALISED or word in lex.NEGATORS or word in lex.INTENSIFIERS:
        return 0.0
    base = lex.base_lexicon()
    found = base.get(word)
    if found is not None:
        return found * _BASE_WEIGHT
    if "-" in word:
        parts = [part for part in word.split("-") if part]
        for part in reversed(parts):
            valence = _lookup(part)
            if valence:
                return valence
        return 0.0
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            found = lex.OWN_LEXICON.get(stem)
            # Short stems of the base lexicon match too much ("arme" is not "arm").
            if found is None and len(stem) >= 4 and stem not in lex.NEUTRALISED:
                found = base.get(stem)
                found = None if found is None else found * _BASE_WEIGHT
            if found is not None:
                return found
    if len(word) >= 7:
        for prefix, valence in lex.PREFIX_VALENCE.items():
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                return valence
        for start in range(3, len(word) - 3):
            head = lex.HEAD_VALENCE.get(word[start:])
            if head is not None:
                return head
    return 0.0
