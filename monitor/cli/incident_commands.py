"""``shitstorm incidents`` (list, show, ack, resolve, feedback) and ``shitstorm silence``: the
CLI as a stand-in for the Slack buttons, acting on incidents exactly as a click does."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from monitor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandFactory,
    duration,
    known_topic,
    now_utc,
    open_store,
    settings_from,
    short,
)

# What `incidents feedback` accepts, and the feedback stored (the Slack buttons' values).
FEEDBACK_VERDICTS = {
    "not-a-shitstorm": "not_a_shitstorm",
    "expected": "expected_campaign",
    "storm": "confirmed_storm",
}


def register(command: CommandFactory) -> None:
    incidents = command("incidents", "list, show and act on incidents")
    actions = incidents.add_subparsers(metavar="ACTION")
    listing = command("list", "list incidents, newest first", actions)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--topic")
    listing.set_defaults(handler=cmd_incidents_list)
    show = command("show", "what the Slack message says, and the incident's timeline", actions)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="the notification payload as JSON")
    show.set_defaults(handler=cmd_incidents_show)
    for verb, help_text in (("ack", "acknowledge an incident"), ("resolve", "resolve an incident")):
        act = command(verb, help_text, actions)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, metavar="NAME", help="who is acting")
        act.set_defaults(handler=cmd_incidents_act, verb=verb)
    feedback = command(
        "feedback", "judge an alert like the Slack buttons do (dismissing also resolves)", actions
    )
    feedback.add_argument("id", type=int)
    feedback.add_argument(
        "verdict",
        choices=tuple(FEEDBACK_VERDICTS),
        metavar="VERDICT",
        help=f"one of: {', '.join(FEEDBACK_VERDICTS)}",
    )
    feedback.add_argument("--by", required=True, metavar="NAME", help="who is judging")
    feedback.set_defaults(handler=cmd_incidents_feedback)

    silence = command("silence", "page nobody about a topic for a while; list and lift silences")
    verbs = silence.add_subparsers(metavar="ACTION")
    add = command("add", "record TOPIC's incidents without paging anyone (the default)", verbs)
    add.add_argument("topic")
    add.add_argument(
        "--for",
        dest="duration",
        type=duration,
        required=True,
        metavar="DURATION",
        help='how long, e.g. "6h" or "2d"',
    )
    add.add_argument("--reason", default=None)
    add.add_argument("--by", default=None, metavar="NAME")
    add.set_defaults(handler=cmd_silence)
    listing = command("list", "silences in force (--all: also planned and past ones)", verbs)
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(handler=cmd_silence_list)
    lift = command("lift", "end a silence now", verbs)
    lift.add_argument("id", type=int)
    lift.set_defaults(handler=cmd_silence_lift)


def with_silence_verb(argv: list[str]) -> list[str]:
    """``silence TOPIC --for 6h`` keeps working next to ``silence list`` and ``silence lift``."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in ("--config", "--database"):
            index += 2
            continue
        if token.startswith("-"):
            index += 1
            continue
        if token == "silence":
            rest = argv[index + 1 : index + 2]
            if rest and rest[0] not in ("add", "list", "lift", "-h", "--help"):
                return [*argv[: index + 1], "add", *argv[index + 1 :]]
        return argv
    return argv


def cmd_incidents_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    # A topic since removed from the settings still lists the incidents it had.
    known = args.topic is None or store.incidents(args.topic, limit=1)
    if not known and not known_topic(settings, args.topic, "incidents list"):
        return EXIT_USAGE
    incidents = store.incidents(args.topic)
    if args.json:
        from monitor.cli.export import incident_row

        print(json.dumps([incident_row(i) for i in incidents], indent=2))
        return EXIT_OK
    if not incidents:
        print("no incidents" + (f" for {args.topic}" if args.topic else ""))
        return EXIT_OK
    print(
        f"{'ID':>4}  {'TOPIC':<16} {'STATUS':<13} {'SEV':>3}  {'OPENED (UTC)':<17} "
        f"{'ACKNOWLEDGED':<17} RESOLVED"
    )
    for i in incidents:
        print(
            f"{i.id:>4}  {i.topic:<16} {i.status.value:<13} {i.peak_severity:>3}  "
            f"{short(i.opened_at):<17} {short(i.acknowledged_at):<17} {short(i.resolved_at)}"
        )
    return EXIT_OK


def cmd_incidents_show(args: argparse.Namespace) -> int:
    from monitor.cli.incident_view import incident_snapshot, render_incident

    settings = settings_from(args)
    store = open_store(settings)
    try:
        incident = store.incident(args.id)
    except KeyError:
        print(f"shitstorm incidents: no incident #{args.id}", file=sys.stderr)
        return EXIT_USAGE
    if not known_topic(settings, incident.topic, "incidents show"):
        return EXIT_USAGE
    now = now_utc()
    if args.json:
        data = incident_snapshot(store, settings, incident, now)
        events = store.incident_events(incident.id)
        data["events"] = [{"at": at.isoformat(), "kind": k, "actor": a} for at, k, a in events]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(render_incident(store, settings, incident, now))
    return EXIT_OK


def cmd_incidents_act(args: argparse.Namespace) -> int:
    action = "acknowledge" if args.verb == "ack" else "resolve"
    return _act(args, action, f"{{status}} by {args.by}")


def cmd_incidents_feedback(args: argparse.Namespace) -> int:
    feedback = FEEDBACK_VERDICTS[args.verdict]
    return _act(args, feedback, f"marked {args.verdict!r} by {args.by} ({{status}})")


def _act(args: argparse.Namespace, action: str, done: str) -> int:
    """Apply ``action`` exactly as a Slack button click does (``monitor.runtime.actions.act``)."""
    from monitor.pipeline.context import Context
    from monitor.runtime.actions import CannotAct, act
    from monitor.runtime.assembly import alerter_names

    settings = settings_from(args)
    # Notifications go to the alerters this command's environment configures, and the daemon
    # delivers them: a shell without the daemon's Slack token writes none for Slack.
    context = Context(open_store(settings), settings, tuple(alerter_names(settings)))
    try:
        transition = act(context, args.id, action, args.by, now_utc())
    except CannotAct as exc:
        print(f"shitstorm incidents: {exc}", file=sys.stderr)
        return EXIT_USAGE
    incident = transition.incident
    assert incident is not None
    if not transition.events:
        print(
            f"incident #{incident.id} is already {incident.status.value}"
            + (f" ({incident.feedback})" if incident.feedback else "")
            + "; nothing changed"
        )
        return EXIT_OK
    print(f"incident #{incident.id} " + done.format(status=incident.status.value))
    return EXIT_OK


def cmd_silence(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not known_topic(settings, args.topic, "silence"):
        return EXIT_USAGE
    duration: timedelta = args.duration
    store = open_store(settings)
    now = now_utc()
    silence_id = store.add_silence(args.topic, now, now + duration, args.reason, args.by)
    print(
        f"{args.topic}: silenced until {short(now + duration)} UTC (silence #{silence_id}) — "
        "incidents are still recorded and posted, but nobody is paged; "
        f"`shitstorm silence lift {silence_id}` ends it"
    )
    return EXIT_OK


def cmd_silence_list(args: argparse.Namespace) -> int:
    from monitor.cli.status import render_silences

    store = open_store(settings_from(args))
    now = now_utc()
    silences = store.silences() if args.all else store.silences(active_at=now)
    print(render_silences(silences, now))
    return EXIT_OK


def cmd_silence_lift(args: argparse.Namespace) -> int:
    store = open_store(settings_from(args))
    now = now_utc()
    found = [s for s in store.silences() if s.id == args.id]
    if not found:
        print(
            f"shitstorm silence lift: no silence #{args.id} (see `silence list --all`)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    silence = found[0]
    if silence.end_at <= now:
        print(
            f"silence #{silence.id} on {silence.topic} ended {short(silence.end_at)} UTC "
            "already; nothing changed"
        )
        return EXIT_OK
    store.end_silence(silence.id, max(now, silence.start_at))
    print(f"silence #{silence.id} lifted: {silence.topic} pages again from now on")
    return EXIT_OK
