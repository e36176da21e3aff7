"""Settings of the ``[sentiment]`` table: which backend scores mentions, and how.

The embedded default (trained models shipped inside the package) and the rule-based "lexicon"
backend need nothing but the installed packages. The heavier backends load a local
model directory or ONNX file named by ``model_path``; nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.sentiment.language import normalize_language


@dataclass(frozen=True, kw_only=True)
class SentimentSettings:
    """How mentions are scored. Every key has a default, so an absent table means "embedded"."""

    # "embedded": the trained models shipped with the package; "lexicon": the rule scorers.
    backend: Literal["embedded", "lexicon", "transformers", "onnx"] = "embedded"
    # A Hugging Face model directory (transformers) or a directory / .onnx file (onnx). Only read
    # when the backend needs it, never fetched from a hub.
    model_path: Path | None = None
    # Language used for texts whose language is unknown or has no scorer; "und" scores them
    # neutral instead (and they are still counted).
    fallback_language: str = "en"
    # Polarity at or below which a mention counts as negative, and at or above which positive,
    # for the lexicon backend (whose scorers were tuned to these defaults; the trained and the
    # model backends label by the most probable class). Raise negative_threshold to flag more.
    negative_threshold: float = -0.2
    positive_threshold: float = 0.35
    # Texts with fewer letters than this are not language-identified (emoji only, links only).
    min_detect_letters: int = 3
    # Longest token sequence fed to a heavy model; longer texts are truncated.
    max_tokens: int = 256

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field checks beyond the types, as ``(key, message)`` pairs."""
        found: list[tuple[str, str]] = []
        if self.backend in ("transformers", "onnx") and self.model_path is None:
            found.append(("model_path", f'backend "{self.backend}" needs model_path'))
        if self.model_path is not None and self.backend in ("embedded", "lexicon"):
            found.append(
                ("model_path", 'model_path is only used by backend "transformers" or "onnx"')
            )
        if not -1.0 <= self.negative_threshold < self.positive_threshold <= 1.0:
            found.append(
                (
                    "negative_threshold",
                    "needs -1 <= negative_threshold < positive_threshold <= 1",
                )
            )
        fallback = self.fallback_language
        if fallback != "und" and normalize_language(fallback) != fallback.lower():
            found.append(("fallback_language", f'"{fallback}" is not a 2-letter code or "und"'))
        if self.min_detect_letters < 0:
            found.append(("min_detect_letters", "must be >= 0"))
        if self.max_tokens < 8:
            found.append(("max_tokens", "must be >= 8"))
        return found
