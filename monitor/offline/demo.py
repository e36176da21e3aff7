"""The bundled demo: a calm week of mentions about a made-up brand, then a storm.

All posts are written for this scenario (English and German). A seeded generator spreads them
over time with a daily rhythm, so the demo is the same on every run and needs no network.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import Mention
from monitor.offline.replay import Outage, Recording
from monitor.offline.synthetic import poisson
from monitor.settings import Settings, parse_settings

START_AT = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
STORM_AT = START_AT + timedelta(days=8, hours=14, minutes=5)
END_AT = STORM_AT + timedelta(hours=5)

DEMO_TOML = """
[monitor]
bucket = "5m"
lateness = "2m"
timezone = "Europe/Berlin"

[alerts]
console = "on"

[[topics]]
name = "acme"
terms = ["Acme", "#acme", "@acme"]
languages = ["de", "en"]

[[topics.sources]]
type = "mastodon"
instance = "https://mastodon.example"
tag = "acme"

[[topics.sources]]
type = "hackernews"

[[topics.sources]]
type = "rss"
url = "https://news.example/rss?q=acme"
interval = "5m"
"""

CALM_POSITIVE = [
    "Just got my new Acme kettle and I love it, great design!",
    "Acme support fixed my order in five minutes. Excellent service, thank you!",
    "Der neue Acme Mixer ist super, bin total begeistert 😍",
    "Danke @acme für die schnelle Lieferung, top!",
    "Happy with the Acme app update, much faster now 👍",
    "Acme hat wirklich tolle Produkte, klare Empfehlung.",
]
CALM_NEUTRAL = [
    "Does anyone know when the Acme store opens on Sunday?",
    "Acme announces its quarterly results next Tuesday.",
    "Hat jemand Erfahrung mit dem Acme Toaster?",
    "Acme eröffnet eine neue Filiale in Köln.",
    "Comparing the Acme and Globex blenders for my kitchen.",
    "Wo kann ich Acme Ersatzteile bestellen?",
]
CALM_NEGATIVE = [
    "My Acme delivery is late again, annoying.",
    "Acme Hotline heute ewig in der Warteschleife, nervig.",
    "The Acme app keeps crashing on my phone, disappointing.",
    "Leider ist mein Acme Mixer nach zwei Wochen kaputt.",
]
STORM_NEGATIVE = [
    "Acme sold customer data to advertisers?! Disgusting. #acmegate #boycott",
    "Unfassbar, Acme verkauft unsere Daten. Nie wieder Acme! #acmegate",
    "Boykott! Was für eine Frechheit von @acme #acmegate",
    "I'm done with Acme. Deleting my account today. #acmegate",
    "Acme lügt seine Kunden an. Schämt euch! #boykott #acmegate",
    "Absolutely outrageous behaviour from @acme, never buying from them again #acmegate",
    "Skandal bei Acme: Kundendaten verkauft. Ich kündige sofort! #acmegate",
    "Shame on you @acme. Worst company ever. #boycottacme",
    "Acme ist das Letzte. Katastrophe, wie sie mit Kunden umgehen #acmegate",
    "Terrible. Acme betrayed every customer who trusted them. #acmegate #unsubscribe",
]
AUTHORS = ["lena_k", "tom.h", "datenschutzfan", "j_miller", "anna.b", "marco_r", "sue_w", "kai99"]
SOURCES = ["mastodon", "hackernews", "rss"]


def write_demo_settings(database: Path) -> Path:
    """The demo's settings beside its kept database (``demo.db`` → ``demo.db.toml``), so every
    command can read that database with ``--config``; returns the file written."""
    path = database.with_name(database.name + ".toml")
    pinned = DEMO_TOML.replace(
        "[monitor]\n", f"[monitor]\ndatabase = {json.dumps(database.name)}\n", 1
    )
    path.write_text("# Settings of `shitstorm demo --keep`." + pinned, encoding="utf-8")
    return path


def demo_settings(database: Path) -> Settings:
    settings = parse_settings(tomllib.loads(DEMO_TOML), Path("demo.toml"), {})
    monitor = dataclasses.replace(settings.monitor, database=database)
    return dataclasses.replace(settings, monitor=monitor)


def _calm_rate(at: datetime) -> float:
    """Mentions per 5 minutes: quiet at night, busiest in the (Berlin) afternoon."""
    hour = (at.hour + 1 + at.minute / 60) % 24
    daily = 0.5 - 0.5 * math.cos((hour - 3) / 24 * 2 * math.pi)
    weekend = 0.7 if at.weekday() >= 5 else 1.0
    return (0.6 + 5.0 * daily) * weekend


def _storm_rate(at: datetime) -> float:
    """Extra negative mentions per 5 minutes: a fast rise, then a slow decline."""
    if at < STORM_AT:
        return 0.0
    minutes = (at - STORM_AT).total_seconds() / 60
    return 30.0 * min(1.0, (minutes + 5) / 25) * math.exp(-minutes / 150)


def demo_recording(settings: Settings) -> Recording:
    rng = random.Random(2026)
    recording = Recording()
    topic = settings.topics[0].name
    mentions: list[Mention] = []
    at = START_AT
    number = 0
    while at < END_AT:
        for _ in range(poisson(rng, _calm_rate(at))):
            roll = rng.random()
            pool = CALM_POSITIVE if roll < 0.4 else CALM_NEUTRAL if roll < 0.85 else CALM_NEGATIVE
            number += 1
            mentions.append(_mention(rng, number, at, rng.choice(pool)))
        for _ in range(poisson(rng, _storm_rate(at))):
            number += 1
            mentions.append(_mention(rng, number, at, rng.choice(STORM_NEGATIVE)))
        at += timedelta(minutes=5)
    recording.mentions[topic] = sorted(mentions, key=lambda m: m.created_at)
    # One source had a bad afternoon in the calm week: a gap, not a calm.
    recording.outages[topic].append(
        Outage(
            "rss", START_AT + timedelta(days=3, hours=13), START_AT + timedelta(days=3, hours=16)
        )
    )
    return recording


def _mention(rng: random.Random, number: int, bucket_at: datetime, text: str) -> Mention:
    source = rng.choice(SOURCES)
    created_at = bucket_at + timedelta(seconds=rng.randrange(300))
    author = rng.choice(AUTHORS)
    return Mention(
        source=source,
        id=f"demo-{number}",
        created_at=created_at,
        text=text,
        author=author,
        url=f"https://{source}.example/{author}/{number}",
        engagement={"likes": rng.randrange(40), "reposts": rng.randrange(12)},
    )
