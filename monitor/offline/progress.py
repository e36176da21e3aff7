"""Progress for long loops: a live bar on a terminal, a few plain lines in a log.

tqdm redraws its bar with carriage returns, which in a log file or the journal become one
endless line of frames; off a terminal this writes "label: 40% (4000/10000 buckets)" lines
instead, at most one per ``step`` percent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(
    items: Sequence[T],
    *,
    label: str,
    unit: str,
    enabled: bool = True,
    stream: TextIO | None = None,
    step: int = 10,
) -> Iterator[T]:
    """Iterate ``items``, showing how far along it is on ``stream`` (stderr by default)."""
    out = sys.stderr if stream is None else stream
    if not enabled or not items:
        yield from items
        return
    if _is_terminal(out):
        yield from tqdm(items, desc=label, unit=unit, leave=False, file=out)
        return
    total = len(items)
    shown = 0
    for done, item in enumerate(items, start=1):
        yield item
        percent = done * 100 // total
        if percent >= shown + step or done == total:
            shown = percent - percent % step
            out.write(f"{label}: {percent}% ({done}/{total} {unit}s)\n")
            out.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
