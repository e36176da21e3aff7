"""HTML fragments from platform APIs (toots, HN comments, feed summaries) as plain text.

Sentiment scorers and Slack excerpts want the words, not the markup: tags go, entities are
decoded, block elements become line breaks, and runs of whitespace collapse.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start a new line in a browser; their boundaries must not glue words together.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
        "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
# Elements whose content is never visible text.
_HIDDEN_TAGS = frozenset({"script", "style", "template", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(self._hidden_depth - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The visible text of an HTML fragment: one line per block, single spaces, no markup.

    >>> html_to_text("<p>Acme&#x27;s support is <b>awful</b></p><p>Never&nbsp;again</p>")
    "Acme's support is awful\\nNever again"
    >>> html_to_text("plain text &amp; no tags")
    'plain text & no tags'
    """
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n"))
    return "\n".join(line for line in lines if line)
