"""Hostile sources: what a gzip bomb, a slow drip and a huge comment cost, before and after.

``python benchmarks/source_limits_bench.py`` serves each misbehaviour on loopback and polls it
with a Hacker News source in a fresh process, once with a plain ``httpx.Client`` (how sources
were polled before the limits) and once with the daemon's client (``assembly.http_client``),
then prints the poll's outcome, its duration and the process's peak resident memory:

- a gzip bomb: 306 KB on the wire, 300 MiB unpacked (the default ``max_response_size``, 10 MiB);
- a slow drip: a byte every 2 s, for 60 s in all (``deadline = "10s"`` here, the default is 60 s);
- long texts scored whole and a 2 MiB one as the pipeline stores it (cut to ``MAX_TEXT_CHARS``).
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import MIB, machine  # noqa: E402

# The misbehaving servers are the source tests' own doubles.
from tests.sources_support import gzip_bomb, raw_server  # noqa: E402

DRIP_EVERY = 2.0
DRIP_FOR = 60.0
DEADLINE = "10s"
RUNS = 3


def bomb_answer(bomb: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
            f"content-length: {len(bomb)}\r\n\r\n"
        )
        conn.sendall(head.encode() + bomb)

    return answer


def drip_answer(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n")
    started = time.monotonic()
    while time.monotonic() - started < DRIP_FOR and not stop.wait(DRIP_EVERY):
        conn.sendall(b" ")


def child(client_kind: str, base_url: str) -> None:
    """One poll in this fresh process; prints a JSON line with outcome, seconds and peak RSS."""
    import httpx

    from monitor.runtime.assembly import http_client
    from monitor.settings_values import parse_duration
    from monitor.sources.base import SourceError, TopicTerms
    from monitor.sources.hackernews import HackerNewsSettings, HackerNewsSource

    settings = HackerNewsSettings(
        type="hackernews",
        base_url=base_url,
        deadline=parse_duration(DEADLINE),
        timeout=parse_duration(DEADLINE),
    )
    source = HackerNewsSource(settings, TopicTerms("acme", ["Acme"]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if client_kind == "plain":
        client = httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0), follow_redirects=True)
    else:
        client = http_client(settings)
    started = time.perf_counter()
    try:
        with client:
            source.poll(client, None, datetime.now(UTC))
        outcome = "ok"
    except SourceError as exc:
        outcome = exc.message.split(": ", 1)[-1]
    except MemoryError:
        outcome = "MemoryError"
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"outcome": outcome, "seconds": elapsed, "peak": peak, "before": before}))


def poll_in_child(client_kind: str, base_url: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", client_kind, base_url],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def show(case: str, kind: str, runs: list[dict[str, object]]) -> None:
    seconds = sorted(float(str(r["seconds"])) for r in runs)
    peaks = sorted(int(str(r["peak"])) / MIB for r in runs)
    before = int(str(runs[0]["before"])) / MIB
    span = f"{seconds[0]:.2f}–{seconds[-1]:.2f} s" if len(runs) > 1 else f"{seconds[0]:.2f} s"
    print(
        f"  {case:<10} {kind:<7} {span:<16} peak RSS {peaks[0]:.0f}–{peaks[-1]:.0f} MiB "
        f"(after imports {before:.0f} MiB)  {str(runs[0]['outcome'])[:60]}"
    )


def score_huge_comment() -> None:
    from monitor.models import Mention
    from monitor.pipeline.ingest import cap_text
    from monitor.sentiment import build_scorer
    from monitor.sentiment.config import SentimentSettings

    sentence = "Acme lost all my data and support does not answer. "
    huge = Mention("hackernews", "1", datetime.now(UTC), sentence * 41_000)  # ~2 MiB
    scorer = build_scorer(SentimentSettings(), ["en"])
    scorer.score("warm up", "en")
    # Scoring grows with the square of the length: 2 MiB whole would take hours, so the
    # uncapped figures are for 25 and 51 KB.
    cases = [
        ("25 KB whole", sentence * 500),
        ("51 KB whole", sentence * 1000),
        ("2 MiB, capped", cap_text(huge).text),
    ]
    for label, text in cases:
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            scorer.score(text, "en")
            times.append(time.perf_counter() - started)
        times.sort()
        print(
            f"  {label:<14} {len(text):>7,} chars scored in "
            f"{times[0] * 1000:.0f}–{times[-1] * 1000:.0f} ms (English)"
        )


def main() -> int:
    print(machine())
    print(f"Each poll in a fresh process; {RUNS} runs of the limited client, 1 of the plain one.")
    bomb = gzip_bomb(300)
    print(f"gzip bomb: {len(bomb) / 1000:.0f} KB on the wire, 300 MiB unpacked")
    with raw_server(bomb_answer(bomb)) as url:
        show("gzip bomb", "plain", [poll_in_child("plain", url)])
        show("gzip bomb", "limited", [poll_in_child("limited", url) for _ in range(RUNS)])
    print(f"slow drip: one byte every {DRIP_EVERY:g} s for {DRIP_FOR:g} s; deadline {DEADLINE}")
    with raw_server(drip_answer) as url:
        show("slow drip", "plain", [poll_in_child("plain", url)])
        show("slow drip", "limited", [poll_in_child("limited", url) for _ in range(RUNS)])
    score_huge_comment()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
