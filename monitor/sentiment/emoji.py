"""Valences of emoji and emoticons, shared by the language scorers.

Written for this project from how the symbols are used in complaints and praise on social media
(the skull and the clown are mockery, the folded hands mostly thanks). Scale: about ±1 for a
clear signal, as in the German lexicon.
"""

from __future__ import annotations

import re

EMOJI: dict[str, float] = {
    # joy, love, approval
    "😀": 1.0, "😃": 1.0, "😄": 1.0, "😁": 1.0, "😆": 0.9, "😊": 1.0, "☺": 1.0, "🙂": 0.6,
    "😉": 0.6, "😍": 1.3, "🥰": 1.3, "😘": 1.1, "😗": 0.6, "😙": 0.7, "😚": 0.8, "🤗": 1.0,
    "🤩": 1.3, "😎": 0.8, "😋": 0.9, "😇": 0.8, "🥳": 1.3, "😂": 0.5, "🤣": 0.5, "😅": 0.2,
    "❤": 1.2, "♥": 1.1, "💕": 1.2, "💖": 1.2, "💗": 1.2, "💓": 1.1, "💞": 1.1, "💘": 1.0,
    "💙": 1.0, "💚": 1.0, "💛": 1.0, "💜": 1.0, "🧡": 1.0, "🤍": 0.8, "😻": 1.1, "💝": 1.0,
    "👍": 0.9, "👏": 0.8, "🙌": 1.0, "💪": 0.7, "✌": 0.5, "👌": 0.7, "🙏": 0.6, "🤝": 0.6,
    "🎉": 1.1, "🎊": 1.0, "🥂": 0.8, "🍾": 0.8, "✨": 0.5, "🌟": 0.8, "⭐": 0.6, "🔥": 0.4,
    "💯": 0.7, "🏆": 0.8, "🥇": 0.8, "☀": 0.4, "🌞": 0.7, "🌈": 0.5, "🌹": 0.6, "🌸": 0.5,
    "✅": 0.4, "😏": -0.2,
    # anger, disgust, disappointment, mockery
    "😠": -1.3, "😡": -1.5, "🤬": -1.8, "👿": -1.2, "😤": -1.0, "💢": -1.0, "🖕": -1.6,
    "👎": -1.2, "🤮": -1.5, "🤢": -1.2, "💩": -1.1, "🤡": -1.0, "💀": -0.4, "☠": -0.8,
    "😞": -1.0, "😔": -0.9, "😟": -0.8, "😕": -0.7, "🙁": -0.8, "☹": -0.9, "😣": -0.9,
    "😖": -1.0, "😫": -1.0, "😩": -1.0, "😢": -1.1, "😭": -0.9, "😿": -1.0, "💔": -1.1,
    "😒": -0.9, "🙄": -0.9, "😑": -0.5, "😐": -0.3, "🤦": -1.0, "🤷": -0.3, "😬": -0.5,
    "😨": -0.8, "😰": -0.9, "😱": -0.8, "😓": -0.6, "😥": -0.7, "🥺": -0.3, "😪": -0.5,
    "🤨": -0.4, "🤥": -0.8, "🐍": -0.6, "🚮": -0.8, "⚠": -0.4, "❌": -0.6, "🛑": -0.5,
    "🥴": -0.4, "😵": -0.6, "🤯": -0.3, "👀": 0.0,
}  # fmt: skip

# Emoticons, matched as whole tokens. Noses and repeated mouths are allowed (":-)))").
_POSITIVE_EMOTICON = r"(?:[:;=8][-o^']?[)\]}>DpP3*]+|\(\s?[:;=]|<3+|\^[_.-]?\^|\*_+\*)"
_NEGATIVE_EMOTICON = (
    r"(?:>?[:;=][-o^']?[(\[{@|/\\]+|(?<!\w)D[-']?[:;=]|(?<!\w)T_T|;_;|-[_.,]-|-\s\.\s-)"
)
POSITIVE_EMOTICON_RE = re.compile(_POSITIVE_EMOTICON)
NEGATIVE_EMOTICON_RE = re.compile(_NEGATIVE_EMOTICON)
EMOTICON_PATTERN = f"(?:{_NEGATIVE_EMOTICON}|{_POSITIVE_EMOTICON})"
POSITIVE_EMOTICON_VALENCE = 0.9
NEGATIVE_EMOTICON_VALENCE = -1.0


def emoticon_valence(token: str) -> float:
    """The valence of an emoticon token; 0 for anything else.

    >>> emoticon_valence(":-)"), emoticon_valence(":'("), emoticon_valence("hallo")
    (0.9, -1.0, 0.0)
    """
    if NEGATIVE_EMOTICON_RE.fullmatch(token):
        return NEGATIVE_EMOTICON_VALENCE
    if POSITIVE_EMOTICON_RE.fullmatch(token):
        return POSITIVE_EMOTICON_VALENCE
    return 0.0
