"""Every benchmark, one after another, each in its own process: what ``make bench`` prints.

Run from anywhere: ``python benchmarks/run_all.py`` (or name sections: ``... load``). Each
script runs in a fresh interpreter so one cannot warm the caches or raise the peak memory of
the next. Benchmarks that need ``../shared/data`` print their own skip message when it is absent
and still count as run; only a benchmark that crashes makes the exit status non-zero.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import SHARED_DATA, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
RULE = "=" * 88


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    script: Path


SECTIONS = [
    Section("sentiment", "Sentiment: accuracy and speed", HERE / "sentiment_bench.py"),
    Section("storms", "Detection: storms injected into real series", HERE / "storm_bench.py"),
    Section("detect", "Detection: NAB, synthetic storms, cost", HERE / "detect_bench.py"),
    Section("load", "Load: ingest throughput and steady memory", HERE / "load_bench.py"),
    Section("jetstream", "Jetstream: events per second, memory, lag", HERE / "jetstream_bench.py"),
    Section(
        "sources",
        "Hostile sources: gzip bomb, slow drip, huge texts",
        HERE / "source_limits_bench.py",
    ),
    Section("chaos", "Chaos: kill -9, Slack outage, garbage source", HERE / "chaos_bench.py"),
]


def run_sections(sections: Sequence[Section], python: str = sys.executable) -> list[str]:
    """Run each section's script with a header; answer the names of those that failed."""
    failed = []
    for section in sections:
        print(f"\n{RULE}\n## {section.title} ({section.script.name})\n{RULE}", flush=True)
        if not section.script.is_file():
            print(f"{section.script.name} is not there yet: skipped", flush=True)
            continue
        started = time.perf_counter()
        code = subprocess.run([python, str(section.script)], cwd=ROOT, check=False).returncode
        elapsed = time.perf_counter() - started
        if code != 0:
            print(f"!! {section.script.name} failed with exit status {code}", flush=True)
            failed.append(section.name)
        print(f"({section.script.name} took {elapsed:.0f} s)", flush=True)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks and print their figures.")
    names = [s.name for s in SECTIONS]
    parser.add_argument(
        "sections", nargs="*", metavar="SECTION", help=f"run only these ({', '.join(names)})"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(names))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = [s for s in SECTIONS if not args.sections or s.name in args.sections]
    print(f"machine: {machine()}")
    data = SHARED_DATA.resolve()
    print(f"shared data: {data if data.is_dir() else f'{data} is absent (those parts skip)'}")
    failed = run_sections(chosen)
    print(f"\n{RULE}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}")
        return 1
    print(f"all {len(chosen)} benchmark section(s) ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
