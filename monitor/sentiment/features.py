"""What the trained scorer reads in a post: word unigrams and bigrams, and the rule scores.

The same code turns a text into features at training and at scoring time, so the two cannot
drift apart. Links, @-handles and numbers carry no features (they are names and dates, not
opinions); the topic's own terms arrive already replaced by a placeholder
(``topic_terms.py``) and carry none either. The rule scorers' polarity is kept as a few dense
features, so what the rules know (negation, intensifiers, emoji, outrage vocabulary) still
counts where the n-grams are thin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from monitor.sentiment.tokens import Kind, Token, tokenize
from monitor.sentiment.topic_terms import PLACEHOLDER as TOPIC_PLACEHOLDER

# Words this long or longer count as shouting when written in capitals.
_SHOUT_LETTERS = 3
# Runs of "!" or "?" longer than this are one feature: "!!" and "!!!!!" say the same.
_MAX_MARKS = 2
# Names of the dense features, in column order (the rule polarity split into its two sides,
# and whether the rules would have called the text negative or positive on their own).
DENSE_FEATURES = ("rule_negativity", "rule_positivity", "rule_negative", "rule_positive")
# A rule scorer's polarity of a text, given its tokens too (the German rules read those, so
# the text is tokenised once for both).
TokenPolarity = Callable[[str, list[Token]], float]


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """The n-grams of one text (each present once) and its dense rule features."""

    words: frozenset[str]
    dense: tuple[float, ...]


def _word_tokens(tokens: list[Token]) -> list[str]:
    """The tokens the n-grams are made of, lowercased; hashtags keep their "#"."""
    found: list[str] = []
    append = found.append
    for kind, text, lower in tokens:  # unpacked: cheaper than three attribute look-ups
        if kind is Kind.WORD:
            append(lower)  # the topic's placeholder too: it is dropped from the unigrams later
            if len(text) >= _SHOUT_LETTERS and text.isupper():
                append("<shout>")
        elif kind is Kind.HASHTAG:
            append("#" + lower)
        elif kind is Kind.BANG or kind is Kind.QUESTION:
            append(text[:_MAX_MARKS])
        elif kind is Kind.BREAK:
            append("<break>")
        else:  # emoticons and symbols, emoji among them
            append(text)
    return found


def sparse_features(tokens: list[Token]) -> frozenset[str]:
    """Word unigrams and bigrams of a text's ``tokenize`` result.

    Character n-grams were tried too (2 to 5 letters inside words): on the dev sets they added
    nothing over the rule features and cost half the speed.

    >>> sorted(sparse_features(tokenize("Nie wieder @bahn!!! https://t.co/x")))
    ['!!', 'nie', 'nie wieder', 'wieder', 'wieder !!']
    """
    words_in_order = _word_tokens(tokens)
    words = set(words_in_order)
    words.update(map(" ".join, pairwise(words_in_order)))
    words.discard(TOPIC_PLACEHOLDER)
    words.discard("<break>")
    return frozenset(words)


def dense_features(
    polarity: float, thresholds: tuple[float, float]
) -> tuple[float, float, float, float]:
    """The rule scorer's polarity as model inputs; ``thresholds`` are the rules' own cut-offs.

    >>> dense_features(-0.5, (-0.2, 0.35))
    (0.5, 0.0, 1.0, 0.0)
    """
    negative, positive = thresholds
    return (
        max(-polarity, 0.0),
        max(polarity, 0.0),
        1.0 if polarity <= negative else 0.0,
        1.0 if polarity >= positive else 0.0,
    )


def text_features(
    text: str, polarity: TokenPolarity, thresholds: tuple[float, float]
) -> TextFeatures:
    """All features of ``text``, with ``polarity`` the language's rule scorer."""
    tokens = tokenize(text)
    return TextFeatures(sparse_features(tokens), dense_features(polarity(text, tokens), thresholds))
