"""The German vocabulary the rule scorer reads: the project's own lists plus a base lexicon.

The base is the German Polarity Lexicon (Klenner et al.) as shipped, under the Apache License
2.0, inside the ``textblob-de`` package; it is read at run time, never copied. It covers standard
written German well but knows neither swearing nor the vocabulary of online complaints, so the
lists below (written for this project) add and override it. SentiWS and GerVADER are
deliberately not used: their licences forbid commercial use.

Valences are on a scale of about ±1 for a clear word; swearing and outrage go to ±2.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

log = logging.getLogger("monitor.sentiment")


def _words(valence: float, text: str) -> dict[str, float]:
    return dict.fromkeys(text.split(), valence)


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Outrage and the vocabulary shitstorms are made of: calls to leave, to boycott, insults.
OUTRAGE = {
    **_words(
        -2.0,
        "boykott boykottieren boykottiert boycott frechheit unverschämt unverschämtheit sauerei "
        "fehlanzeige skandal skandalös schweinerei zumutung dreist dreistigkeit abzocke abzocker "
        "abgezockt betrug betrüger betrügerisch verarsche verarscht verarschen schande schämt "
        "schämen lügner lügen gelogen lügenpresse shitstorm unfassbar inakzeptabel unzumutbar "
        "kundenverarsche gaunerei gauner halsabschneider unverschämte unverschämter "
        "unverschämtes",
    ),
    **_words(
        -1.5,
        "kündigen kündige gekündigt kündigung deabonniert entfolgt entfolgen abbestellt "
        "abbestellen unsubscribe unsubscribed boycotting rassistisch rassist rassisten rassismus "
        "sexistisch sexismus diskriminierung diskriminierend hetze hetzer menschenverachtend "
        "widerlich ekelhaft ekelig eklig abartig erbärmlich armselig jämmerlich peinlich "
        "lächerlich katastrophe katastrophal desaster debakel fiasko versagen versager versagt "
        "totalversagen inkompetent inkompetenz dilettantisch dilettanten stümper pfusch murks "
        "schrott scheißladen saftladen drecksladen ausbeutung ausbeuter gier gierig wucher "
        "miserabel mies mieser miese unterirdisch grottenschlecht grottig",
    ),
}

# Swearing: in complaints it is the signal, not noise.
SWEARING = {
    **_words(
        -1.8,
        "scheiße scheisse scheiß scheiss scheißdreck beschissen beschissene beschissener kacke "
        "kack kacken verfickt verfickte verfickten fick ficken gefickt fuck fucking fucked wtf "
        "dafuq dammit damn arschloch arschlöcher arsch idiot idioten vollidiot vollidioten depp "
        "deppen trottel spacko spast wichser bastard hurensohn missgeburt dreck drecks dreckig "
        "mistding",
    ),
    **_words(
        -1.2,
        "mist verdammt verdammte verdammter verdammich mistig kotzen kotzt ankotzen ätzend "
        "nervig nervt nerven genervt nervtötend bescheuert blöd blöde blöder doof doofe doofer "
        "dumm dumme dummer dummes dummheit dämlich hirnlos hirnverbrannt behämmert kranke krank "
        "bekloppt bekloppte",
    ),
}

# Complaints about a service: delays, breakdowns, waiting, refunds, no answer.
COMPLAINT = {
    **_words(
        -1.0,
        "verspätung verspätungen verspätet verspätete verspäteten ausfall ausgefallen zugausfall "
        "störung störungen gestört defekt defekte kaputt kaputte kaputten überfüllt überfüllte "
        "stau streik streiks warteschleife wartezeit ewig stundenlang chaos chaotisch "
        "kein_anschluss anschluss_verpasst verpasst verpasste verpassen gestrichen storniert "
        "erstattung rückerstattung reklamation reklamieren beschwerde beschweren beschwert ärger "
        "ärgerlich ärgert ärgern verärgert sauer wütend wut zornig empört empörung enttäuscht "
        "enttäuschend enttäuschung frust frustriert frustrierend leider traurig schade "
        "mangelhaft fehlerhaft fehler problem probleme bug bugs absturz abgestürzt stürzt hängt "
        "lahm teuer teurer überteuert unfreundlich unhöflich ignoriert ignorieren unerreichbar "
        "nutzlos sinnlos unbrauchbar unmöglich ignoranz arroganz arrogant aua autsch schlecht "
        "schlechte schlechter schlechtes schlechten schlechteste übel furchtbar fürchterlich "
        "schrecklich grauenhaft grausam grauenvoll schlimm schlimmer schlimmste horror albtraum "
        "alptraum hass hasse hassen hasst angst sorge sorgen leiden leidet weh schmerz schmerzen "
        "müde langweilig langweilt öde nervenaufreibend kalt eiskalt dreckig verdreckt stinkt "
        "stinkend verschmutzt unpünktlich unzuverlässig zuspät entfällt entfallen entfiel "
        "gesperrt sperrung verzögert verzögerung keinerlei vergeblich fehlt fehlen gefehlt "
        "verloren verliert verlust pleite tot tote toten sterben stirbt gestorben krieg terror "
        "anschlag gewalt opfer mord getötet verletzt unfall unglück tragisch heulen weinen weine "
        "heul vermisse vermissen einsam allein krankheit erkältet erkältung kopfschmerzen nazi "
        "nazis faschist faschisten rechtsextrem hetzen lüge korrupt korruption skandale verbot "
        "verboten zensur abzug",
    ),
    **_words(
        -0.6,
        "warten warte wartet gewartet wieder_mal schon_wieder mal_wieder eigentlich sowas kritik "
        "kritisiert bedenklich fragwürdig zweifel zweifelhaft unsicher risiko gefahr gefährlich "
        "teuer fehlt fehlen gefehlt warum wieso weshalb stress anstrengend schwer schwierig "
        "kompliziert nerv lästig blamage",
    ),
}

# Approval, thanks and joy, including the colloquial forms the base lexicon lacks.
PRAISE = {
    **_words(
        1.5,
        "liebe liebt lieben love loved lovely perfekt großartig grossartig "
        "fantastisch phantastisch wunderbar wundervoll wunderschön hervorragend "
        "ausgezeichnet genial geil mega klasse spitze traumhaft herrlich begeistert "
        "begeisternd glücklich glückwunsch glückwünsche gratulation gratuliere "
        "awesome amazing brilliant excellent",
    ),
    **_words(
        1.0,
        "gut gute guter gutes guten super toll tolle toller tolles tollen schön "
        "schöne schöner schönes schönen cool nett nette netter lecker lustig witzig "
        "danke dankeschön dank dankbar bedanke freue freu freut freuen freude "
        "froh yay yeah juhu hurra yippie jippie haha hahaha hihi lol xd spaß "
        "gefällt gefallen mag empfehlen empfehlenswert empfehle zufrieden top "
        "erfolg erfolgreich gewonnen gewinnt gewinnen sieg sieger beste besten bester "
        "bestes best gratis lieblings süß süss niedlich hübsch prima bravo "
        "willkommen hoffnung hoffe hoffentlich sympathisch fair freundlich "
        "hilfsbereit schnell pünktlich bequem sauber entspannt entspannend "
        "interessant spannend aufregend stolz respekt gerne gern nice great happy "
        "thanks thx thank good hübsche wow yummy lieb liebsten liebste liebes "
        "beautiful wonderful perfect yes",
    ),
    **_words(
        0.5,
        "okay ok ordentlich passt passend angenehm endlich lohnt lohnenswert "
        "funktioniert klappt geklappt läuft geschafft interessiert neugierig "
        "gespannt wichtig richtig korrekt",
    ),
}

# Words the base lexicon scores although they rarely carry sentiment in social media posts
# (or carry the opposite one): they are neutralised.
NEUTRALISED = _set(
    "mehr sonne bahn zug abfahrt fahren frage fragen gut_und_gerne ziel ziele heute morgen "
    "neu neue neuen neues alt alte alten groß große großen klein kleine kleinen lang lange "
    "langen hoch hohe hohen tief tiefe kurz kurze voll volle leer leere fest feste stark "
    "starke schwach einfach einfache art arbeit aktuell aktuelle gerade direkt frei freie "
    "offen offene sicher sicherheit ruhe reise reisen abend nacht tag woche jahr leben "
    "spiel spiele folge folgen gesellschaft partei politik recht rechte rechten links "
    "linke linken weiß weiss schwarz schwarze rot rote grün grüne blau blaue gelb gelbe "
    "bild bilder mann frau kind kinder hand kopf herz herzen zeit ende anfang erst erste "
    "ersten letzte letzten nächste nächsten genau klar ganz völlig total absolut echt "
    "wirklich extrem echte wahr wahre wirklichkeit unbedingt natürlich normal "
    "wohl zusammen allein allerdings aber doch kaum ziemlich recht fast fehlen "
    "stimme stimmen wahl wahlen kampf kämpfen angriff angriffe streit"
)

NEGATORS = _set(
    "nicht nich net nit kein keine keinen keinem keiner keines keins nie niemals nimmer "
    "nirgends nirgendwo niemand ohne weder not no never nothing nobody"
)

# Multipliers for the next sentiment word.
INTENSIFIERS: dict[str, float] = {
    **_words(
        1.5,
        "sehr extrem total echt wirklich voll mega ultra richtig absolut völlig komplett "
        "äußerst ausgesprochen besonders unglaublich unheimlich wahnsinnig verdammt "
        "enorm höchst unfassbar zutiefst abgrundtief super tierisch sowas so soo sooo "
        "zu really very extremely "
        "totally",
    ),
    **_words(
        0.6,
        "etwas bisschen bissl wenig weniger eher ziemlich relativ leicht halbwegs "
        "einigermaßen fast teilweise irgendwie vielleicht wohl eventuell möglicherweise "
        "slightly somewhat kinda",
    ),
}

SALUTATIONS = _set("liebe lieber liebes")
PRONOUNS = _set("ich du er sie es wir ihr man")

# After one of these the clause that follows decides ("gut, aber zu teuer").
CONTRAST = _set("aber jedoch allerdings trotzdem dennoch sondern but however")

# Positive words that are sarcastic as soon as the text complains ("Toll, schon wieder zu spät").
SARCASM_PRONE = _set(
    "toll tolle toller tolles super prima klasse großartig grossartig danke dankeschön "
    "vielen_dank herzlichen_dank bravo glückwunsch gratulation perfekt wunderbar "
    "läuft spitze genial großes_kino"
)
# Words (or hashtags) that declare irony; "#not" only as a hashtag.
IRONY_WORDS = _set("ironie sarkasmus sarcasm irony ironisch")
IRONY_HASHTAGS = _set("not notreally")

# Words that may follow a trailing negator without ending the clause: "geht nicht mehr".
NEGATION_TAIL = _set("mehr richtig wirklich so ganz immer wieder")

# Verbs whose negation is a complaint ("funktioniert nicht", "kommt nicht"), neutral otherwise.
BROKEN_WHEN_NEGATED = _set(
    "funktioniert funktionieren funktionierte geht ging gehen klappt klappte kommt kam "
    "kommen fährt fuhr fahren läuft lief laufen hält hielt lädt lädt reagiert reagieren "
    "antwortet antworten meldet erreichbar erreicht möglich verfügbar hilft half helfen "
    "ankommen angekommen zurückgerufen gemeldet"
)

# Fixed expressions, looked up before single words. Values replace the words' own valences.
PHRASES: dict[tuple[str, ...], float] = {
    ("nie", "wieder"): -2.0,
    ("nimmer", "wieder"): -2.0,
    ("never", "again"): -2.0,
    ("geht", "gar", "nicht"): -1.8,
    ("geht", "garnicht"): -1.8,
    ("gar", "nicht", "gut"): -1.5,
    ("zum", "kotzen"): -2.0,
    ("zum", "heulen"): -1.5,
    ("unter", "aller", "sau"): -2.0,
    ("unter", "aller", "kanone"): -2.0,
    ("schämt", "euch"): -2.0,
    ("schämen", "sie", "sich"): -2.0,
    ("danke", "für", "nichts"): -2.0,
    ("na", "toll"): -1.5,
    ("na", "super"): -1.5,
    ("na", "prima"): -1.5,
    ("na", "klasse"): -1.5,
    ("kein", "problem"): 0.6,
    ("keine", "probleme"): 0.6,
    ("kein", "thema"): 0.5,
    ("keine", "sorge"): 0.5,
    ("keine", "sorgen"): 0.5,
    ("nicht", "schlecht"): 0.8,
    ("nicht", "übel"): 0.8,
    ("vielen", "dank"): 1.5,
    ("herzlichen", "dank"): 1.5,
    ("herzlichen", "glückwunsch"): 1.8,
    ("alles", "gute"): 1.5,
    ("frohe", "weihnachten"): 1.3,
    ("frohes", "neues"): 1.3,
    ("gute", "nacht"): 0.6,
    ("liebe", "grüße"): 0.3,
    ("lieben", "gruß"): 0.3,
    ("viele", "grüße"): 0.3,
    ("beste", "grüße"): 0.3,
    ("mit", "freundlichen", "grüßen"): 0.0,
    ("guten", "morgen"): 0.6,
    ("viel", "spaß"): 1.2,
    ("viel", "erfolg"): 1.2,
    ("gute", "besserung"): 0.5,
    ("zu", "spät"): -1.2,
    ("schon", "wieder"): -0.8,
    ("wie", "immer"): -0.3,
    ("kein", "anschluss"): -1.0,
    ("kein", "service"): -1.5,
    ("kein", "wlan"): -1.0,
    ("kein", "netz"): -1.0,
    ("kein", "empfang"): -1.0,
    ("kein", "internet"): -1.0,
    ("großes", "kino"): 1.0,
    ("der", "hammer"): 1.2,
    ("der", "knaller"): 1.2,
    ("keine", "ahnung"): -0.3,
    ("keine", "antwort"): -1.2,
    ("keine", "lust"): -1.0,
    ("keinen", "bock"): -1.2,
    ("null", "bock"): -1.2,
    ("nicht", "mein", "ding"): -0.8,
    ("will", "nicht", "mehr"): -1.2,
    ("kann", "nicht", "mehr"): -1.2,
    ("kein", "bock"): -1.2,
    ("was", "soll", "das"): -1.2,
    ("geht's", "noch"): -1.5,
    ("gehts", "noch"): -1.5,
    ("reicht", "jetzt"): -1.5,
    ("reicht's",): -1.0,
    ("es", "reicht"): -1.5,
    ("ohne", "worte"): -1.2,
    ("auf", "keinen", "fall"): -0.8,
    ("lass", "das"): -0.5,
    ("ins", "wasser"): -0.8,
    ("fällt", "aus"): -1.2,
    ("außer", "betrieb"): -1.0,
    ("fiel", "aus"): -1.2,
    ("fallen", "aus"): -1.2,
}

_PREFIX_VALENCE = {
    # Compounds starting with these take their colour: "Scheißwetter", "Lieblingsbuch".
    "boykott": -2.0, "boycott": -2.0, "scheiß": -1.8, "scheiss": -1.8, "kack": -1.5,
    "drecks": -1.5, "mist": -1.0,
    "schrott": -1.2, "horror": -1.0, "kotz": -1.5, "hass": -1.2, "pannen": -1.0, "chaos": -1.0,
    "lieblings": 1.2, "traum": 1.0, "super": 1.0, "mega": 0.8, "spitzen": 1.0,
}  # fmt: skip
PREFIX_VALENCE: Mapping[str, float] = MappingProxyType(_PREFIX_VALENCE)

# Heads that make a compound negative: "Zugausfall", "Totalausfall", "Servicewüste".
HEAD_VALENCE: Mapping[str, float] = MappingProxyType(
    {
        "ausfall": -1.0, "ausfälle": -1.0, "störung": -1.0, "verspätung": -1.0,
        "chaos": -1.2, "katastrophe": -1.5, "skandal": -2.0, "versagen": -1.5,
        "abzocke": -2.0, "frechheit": -2.0, "schrott": -1.5, "mist": -1.0,
        "wüste": -1.0, "panne": -1.0, "schaden": -1.0, "schäden": -1.0, "pannen": -1.0,
        "betrug": -2.0, "fehler": -1.0,
        "problem": -1.0, "probleme": -1.0, "streik": -1.0, "stress": -0.6,
        "weh": -1.0, "schmerz": -1.0, "schmerzen": -1.0,
    }
)  # fmt: skip

_ALL_WORDS = {**PRAISE, **COMPLAINT, **SWEARING, **OUTRAGE}
# Entries written with "_" in the lists above are expressions of several words.
OWN_LEXICON: Mapping[str, float] = MappingProxyType(
    {word: valence for word, valence in _ALL_WORDS.items() if "_" not in word}
)
for _entry, _valence in _ALL_WORDS.items():
    if "_" in _entry:
        PHRASES.setdefault(tuple(_entry.split("_")), _valence)
MAX_PHRASE_WORDS = max(len(words) for words in PHRASES)
PHRASE_STARTS = frozenset(words[0] for words in PHRASES)

_base_lock = threading.Lock()
_base: Mapping[str, float] | None = None
_ENTRY_RE = re.compile(r'<word [^>]*?form="([^"]+)"[^>]*?polarity="([^"]+)"')


def base_lexicon() -> Mapping[str, float]:
    """The textblob-de polarity lexicon, lowercased, loaded once per process.

    Multi-word entries (joined by ``_``) are skipped; a form listed twice keeps the mean.
    An empty mapping when textblob-de is not installed: the own lists still work.
    """
    global _base
    if _base is not None:  # the common case, without taking the lock
        return _base
    with _base_lock:
        if _base is None:
            _base = MappingProxyType(_read_base_lexicon())
        return _base


def _read_base_lexicon() -> dict[str, float]:
    # find_spec locates the package without importing it: importing textblob_de pulls in
    # nltk and takes seconds, and only this data file is needed.
    spec = importlib.util.find_spec("textblob_de")
    if spec is None or not spec.submodule_search_locations:
        log.warning(
            "textblob-de is not installed: German posts are scored without the German "
            "Polarity Lexicon (pip install textblob-de)"
        )
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "de-sentiment.xml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning(
            "cannot read the German Polarity Lexicon at %s (%s): German posts are scored "
            "without it",
            path, exc.strerror or exc,
        )  # fmt: skip
        return {}
    # The licence header quotes an example entry; the entries start after the root element.
    text = text[text.find("<sentiment ") :]
    sums: dict[str, list[float]] = {}
    for form, polarity in _ENTRY_RE.findall(text):
        if "_" in form:
            continue
        sums.setdefault(form.lower(), []).append(float(polarity))
    return {
        form: sum(values) / len(values)
        for form, values in sums.items()
        if form not in NEUTRALISED and any(values)
    }
