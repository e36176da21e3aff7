"""Drivers: what a community manager should read to understand why the storm is happening."""

from __future__ import annotations

from alerts.drivers import Driver, find_drivers, terms_of

CALM = [
    "Just got my new ACME running shoes, love them",
    "ACME customer service was quick today",
    "Neue Schuhe von ACME sind bequem",
    "Der ACME Laden in Köln hat jetzt länger offen",
    "ACME delivery arrived on time, nice packaging",
] * 20
STORM = [
    "ACME leaked my data #datenleck, unfassbar",
    "Datenleck bei ACME! Passwort sofort ändern #datenleck",
    "So ACME had a data breach and says nothing? #datenleck",
    "ACME breach: my password was in the dump https://example.org/dump?x=1",
    "Wow ACME, breach and silence. Your customer service is useless",
    "Just got my new ACME shoes, but hey, breach #datenleck",
]


def test_storm_terms_rank_above_everyday_terms() -> None:
    drivers = find_drivers(STORM, CALM, exclude=["ACME"])
    terms = [d.term for d in drivers]
    assert terms[:2] == ["#datenleck", "breach"]
    assert "shoes" not in terms and "customer" not in terms  # common in calm times too
    assert all(d.lift >= 2.0 and d.count >= 3 for d in drivers)
    assert drivers[0] == Driver("#datenleck", 4, drivers[0].lift, usual=0)
    assert drivers[0].as_dict() == {
        "term": "#datenleck",
        "count": 4,
        "lift": round(drivers[0].lift, 1),
        "new": True,
    }


def test_a_spammer_repeating_a_word_is_one_post() -> None:
    spam = ["scam scam scam scam scam scam"] + ["ACME outage again"] * 3
    drivers = {d.term: d.count for d in find_drivers(spam, CALM, min_count=1)}
    assert drivers["scam"] == 1 and drivers["outage"] == 3


def test_without_baseline_lift_is_bounded() -> None:
    drivers = find_drivers(STORM, [], min_lift=1.0)
    assert drivers and all(d.lift <= 2.0 for d in drivers)


def test_stopwords_urls_and_short_tokens_are_not_terms() -> None:
    assert terms_of("Das ist und bleibt THE worst of it https://x.example/a #ok @acme_de") == {
        "bleibt": False,
        "worst": False,
        "@acme_de": False,
    }
    assert terms_of("#Boykott boykott") == {"boykott": True}


def test_the_topic_itself_is_excluded_as_word_hashtag_and_handle() -> None:
    storm = ["@acme #acme acme refund now"] * 5
    assert [d.term for d in find_drivers(storm, CALM, exclude=["ACME"])] == ["refund"]


def test_nothing_over_represented_gives_no_drivers() -> None:
    assert find_drivers(CALM[:5], CALM) == []
    assert find_drivers([], CALM) == []


def test_german_and_english_filler_words_do_not_drive_a_storm() -> None:
    storm = [
        "Nie wieder Acme! Ich kündige sofort, #acmegate",
        "Acme verkauft unsere Daten, nie wieder. Sofort kündigen! #acmegate",
        "Never again Acme, they sold our data. Cancel immediately #acmegate",
        "I will never buy Acme again, sold our data #acmegate",
    ] * 3
    terms = [d.term for d in find_drivers(storm, CALM, exclude=["Acme"])]
    assert terms[0] == "#acmegate" and "daten" in terms and "data" in terms
    for filler in ("nie", "wieder", "sofort", "never", "again", "immediately", "ich", "our"):
        assert filler not in terms, filler


def test_a_hashtag_is_a_subject_even_when_its_word_is_a_stop_word() -> None:
    assert terms_of("Warehouse #fire, the fire is out") == {"warehouse": False, "fire": True}


def test_every_word_of_a_topic_of_several_words_is_excluded() -> None:
    storm = ["Deutsche Bahn streicht schon wieder Züge #deutschebahn #streik"] * 4
    terms = [d.term for d in find_drivers(storm, CALM, exclude=["Deutsche Bahn"])]
    assert "deutsche" not in terms and "bahn" not in terms and "#deutschebahn" not in terms
    assert "#streik" in terms and "züge" in terms
