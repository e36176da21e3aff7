"""English polarity: VADER, taught the vocabulary of complaints and boycotts it lacks.

VADER (MIT) is tuned for tweets and handles negation, intensifiers, capitals, "!!!" and emoji
itself. Its lexicon misses what brand storms are made of ("boycott", "unsubscribe", "scam",
"never again"), which is added here on VADER's own scale of -4..4, and it misreads handles,
hashtags, stretched words and sarcasm, which are prepared or corrected around it.
"""

from __future__ import annotations

import html
import re
import threading
from typing import Any

from monitor.sentiment.emoji import EMOJI


def _words(valence: float, text: str) -> dict[str, float]:
    return dict.fromkeys(text.split(), valence)


# Words VADER scores that are mostly something else in posts: "like" a preposition, "Super"
# Bowl, a political "party", "well" as a filler, "play" a match, "Star Wars". Their valence is
# replaced (VADER's scale, -4..4), softened rather than removed.
AMBIGUOUS_VALENCES: dict[str, float] = {
    "like": 0.6, "no": -0.6, "super": 1.2, "party": 0.6, "play": 0.4, "playing": 0.4,
    "played": 0.4, "ready": 0.6, "well": 0.3, "sure": 0.5, "top": 0.3, "help": 0.8,
    "fire": -0.5, "interested": 0.8, "miss": 0.0, "wars": -0.5, "broke": -0.5,
}  # fmt: skip

# Words missing from VADER or weaker there than in complaints and storms. Written for this
# project; where VADER already has a stronger valence of the same sign, VADER's stays.
EXTRA_VALENCES: dict[str, float] = {
    **_words(2.0, "favourite favourites excited exciting congratulations bae dope tgif stoked"),
    **_words(
        -2.4,
        "boycott boycotting boycotted unsubscribe unsubscribed unfollow unfollowed "
        "scam scammed scammers ripoff rip-off fraud fraudulent disgrace disgraceful "
        "shameful outrageous unacceptable appalling atrocious pathetic racist sexist "
        "incompetent incompetence clowns clown lies liar liars cancelled canceled "
        "overpriced misleading deceptive rude useless worthless garbage trash "
        "shitshow clusterfuck fml neveragain",
    ),
    **_words(
        -2.0,
        "delayed delay delays outage outages broken crashed crash crashing bug buggy "
        "glitch glitches stuck lost missing nightmare disaster fail failed "
        "failure fails sucks suck sucked wtf smh ugh meh disappointing disappointed "
        "disappointment annoyed annoying frustrating frustrated complaint complain "
        "worst terrible horrible awful fucking",
    ),
    **_words(
        -1.6,
        "tedious flaw flawed flaws bashing bashed nutty narcissist narcissistic vandals "
        "vandalism unrealistic dissapointed disapointed overrated underwhelming mediocre "
        "cringe cringey cringeworthy yikes ew eww shady sketchy hypocrite hypocrites "
        "hypocrisy corrupt corruption toxic trashy idiots xenophobic bigot bigots bigoted "
        "unusable laggy disrespectful absurd bs facepalm dammit afraid rip condolences "
        "bombing layoffs sued delete deleted slow",
    ),
}


# Expressions VADER reads word by word and gets wrong ("can't wait" is eagerness, not a
# negated wait). They are joined into one token that the lexicon then knows.
PHRASES: dict[str, tuple[str, float]] = {
    "can't wait": ("xcantwait", 2.5),
    "cant wait": ("xcantwait", 2.5),
    "cannot wait": ("xcantwait", 2.5),
    "can not wait": ("xcantwait", 2.5),
    "looking forward": ("xlookingforward", 2.0),
    "never again": ("xneveragain", -3.0),
    "no longer": ("xnolonger", -0.8),
    "customer service": ("xcustomerservice", -0.5),
    "not impressed": ("xnotimpressed", -2.0),
    "waste of": ("xwasteof", -2.5),
    "rip off": ("xripoff", -2.5),
    "shame on": ("xshameon", -2.5),
    "fed up": ("xfedup", -2.2),
    "had enough": ("xhadenough", -2.0),
    "thanks for nothing": ("xthanksfornothing", -2.8),
    "no refund": ("xnorefund", -2.2),
    "still no": ("xstillno", -1.8),
    "no response": ("xnoresponse", -1.8),
    "no reply": ("xnoresponse", -1.8),
    "no answer": ("xnoresponse", -1.8),
    "no help": ("xnohelp", -1.8),
    "no service": ("xnoservice", -1.8),
    "no signal": ("xnoservice", -1.8),
    "no internet": ("xnoservice", -1.8),
    "no wifi": ("xnoservice", -1.8),
}
# What a sarcastic "thanks" is usually about: the complaint vocabulary above.
_COMPLAINTS = frozenset(
    [word for word, valence in EXTRA_VALENCES.items() if valence <= -2.0]
    + [token for token, valence in PHRASES.values() if valence <= -1.5]
)
_PHRASE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(phrase) for phrase in PHRASES) + r")\b", re.IGNORECASE
)
# Some exports leave JSON escapes ("\u2019", "\u002c") in the text.
_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")
# VADER describes emoji in words ("pouting face") that its lexicon mostly lacks; the shared emoji
# valences (scale ±1) are given to it as tokens instead, on its own scale.
_EMOJI_SCALE = 2.5
_EMOJI_TOKENS = {emoji: f" xemoji{index} " for index, emoji in enumerate(EMOJI)}
_EMOJI_TABLE = str.maketrans(_EMOJI_TOKENS)

# "sooo goooood", "noooo": stretched words are emphasis; VADER only knows the plain spelling.
_ELONGATED_RE = re.compile(r"([a-zA-Z])\1\1")
_WORD_WITH_ELONGATION_RE = re.compile(r"[a-zA-Z]*([a-zA-Z])\1\1[a-zA-Z]*")
_RUN_RE = re.compile(r"([a-zA-Z])\1{2,}")


def _shorten(match: re.Match[str]) -> str:
    """The spelling of a stretched word that the lexicon knows, trying double then single."""
    word = match.group()
    lexicon = _shared_analyzer().lexicon
    for replacement in (r"\1\1", r"\1"):
        candidate = _RUN_RE.sub(replacement, word)
        if candidate.lower() in lexicon:
            return candidate.upper() if word.isupper() else candidate
    return _RUN_RE.sub(r"\1\1", word)


_QUESTION_DAMPING = 0.5

# Praise next to a clear complaint is sarcasm: "Great, my flight got cancelled again."
_SARCASM_PRONE = frozenset(
    _words(0, "great thanks thank love perfect wonderful awesome fantastic brilliant lovely yay")
)
_IRONY_MARKERS = frozenset(_words(0, "#sarcasm #not #irony #yeahright"))
_SARCASM_FLIP = 0.8
_PLAIN_WORD_RE = re.compile(r"#?[a-z']+")


def _has_irony_hashtag(text: str) -> bool:
    return any(tag in _IRONY_MARKERS for tag in _PLAIN_WORD_RE.findall(text.lower()))


def _is_sarcastic(text: str) -> bool:
    """Praise words together with the service-complaint vocabulary, or an irony hashtag."""
    words = _PLAIN_WORD_RE.findall(text.lower())
    return any(word in _SARCASM_PRONE for word in words) and any(
        word in _COMPLAINTS for word in words
    )


_HANDLE_RE = re.compile(r"@\w+")

# Hashtags carry storms: "#BoycottNike", "#deleteuber", "#epicfail". They are read as words.
_HASHTAG_RE = re.compile(r"#(\w+)")
_CAMEL_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# Words a lowercase hashtag often starts or ends with in campaigns, split off so they count.
_CAMPAIGN_PREFIXES = ("boycott", "delete", "unfollow", "shameon", "stop", "ban", "never", "love")
_CAMPAIGN_SUFFIXES = ("fail", "sucks", "lies", "scam", "shame", "love", "win")


def _expand_hashtag(match: re.Match[str]) -> str:
    body = match.group(1)
    lowered = body.lower()
    if lowered in _shared_analyzer().lexicon:
        return body
    if any(c.isupper() for c in body[1:]) and not body.isupper():
        return " ".join(_CAMEL_RE.findall(body))
    for prefix in _CAMPAIGN_PREFIXES:
        if lowered.startswith(prefix) and len(lowered) > len(prefix) + 1:
            # What follows is the campaign's target, usually a name: "#boycottunited".
            return prefix
    for suffix in _CAMPAIGN_SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix) + 1:
            return f"{lowered[: -len(suffix)]} {suffix}"
    return body


_lock = threading.Lock()
_analyzer: Any = None


def _shared_analyzer() -> Any:
    """VADER's analyzer, built once per process with the extra valences merged in."""
    global _analyzer
    if _analyzer is not None:  # the common case, without taking the lock
        return _analyzer
    with _lock:
        if _analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            analyzer = SentimentIntensityAnalyzer()
            lexicon = analyzer.lexicon
            for word, valence in EXTRA_VALENCES.items():
                known = lexicon.get(word, 0.0)
                if known * valence <= 0 or abs(valence) > abs(known):
                    lexicon[word] = valence
            lexicon.update(AMBIGUOUS_VALENCES)
            analyzer.lexicon.update(dict(PHRASES.values()))
            for emoji, token in _EMOJI_TOKENS.items():
                analyzer.lexicon[token.strip()] = EMOJI[emoji] * _EMOJI_SCALE
            _analyzer = analyzer
        return _analyzer


class EnglishScorer:
    """Polarity in [-1, 1] of an English text (VADER's compound score)."""

    def polarity(self, text: str) -> float:
        if "&" in text:
            text = html.unescape(text)
        ironic = "#" in text and _has_irony_hashtag(text)
        if "\\u" in text:
            text = _ESCAPE_RE.sub(lambda match: chr(int(match.group(1), 16)), text)
        # VADER's negation list spells "don't" with a straight apostrophe only.
        text = text.replace("’", "'")
        if _ELONGATED_RE.search(text):
            text = _WORD_WITH_ELONGATION_RE.sub(_shorten, text)
        if "@" in text:
            # Handles are names, and VADER would read "@United" or "@Great_Lakes" as words.
            text = _HANDLE_RE.sub(" ", text)
        if "#" in text:
            text = _HASHTAG_RE.sub(_expand_hashtag, text)
        text = _PHRASE_RE.sub(lambda match: PHRASES[match.group().lower()][0], text)
        text = text.translate(_EMOJI_TABLE)
        analyzer = _shared_analyzer()
        polarity = float(analyzer.polarity_scores(text)["compound"])
        if polarity > 0 and (ironic or _is_sarcastic(text)):
            polarity = -polarity * _SARCASM_FLIP
        if polarity > 0 and "?" in text and "!" not in text:
            # A question asserts less: "Will the new phone be great?" is not praise yet.
            polarity *= _QUESTION_DAMPING
        return polarity
