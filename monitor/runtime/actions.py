"""What a button click or a CLI command does to an incident: a state change and notifications.

Clicks arrive over Socket Mode or the HTTP endpoint, both as :class:`~alerts.interactions.Action`.
They never call Slack: they change the stored incident and write notifications, and the
deliver job updates the message. Each action is idempotent, so double clicks and two people
clicking at once leave one state change behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

from alerts.incidents import Transition, acknowledge, give_feedback, resolve
from alerts.interactions import Action, is_allowed
from monitor.pipeline.context import Context
from monitor.pipeline.notify import apply

log = logging.getLogger("monitor.runtime.actions")

GroupMembers = Callable[[str], Collection[str] | None]


class CannotAct(LookupError):
    """An action on an incident that cannot be applied; the message says why, for people."""


def act(ctx: Context, incident_id: int, action: str, actor: str, now: datetime) -> Transition:
    """Apply ``action`` ("acknowledge", "resolve" or a feedback) atomically; :class:`CannotAct`
    when there is no such incident or its topic is no longer configured. The returned
    transition has no events when the action changed nothing (already acknowledged, already
    resolved, same feedback)."""
    store, settings = ctx.store, ctx.settings
    with store.transaction():
        try:
            incident = store.incident(incident_id)
        except KeyError as exc:
            raise CannotAct(f"Incident #{incident_id} does not exist (any more).") from exc
        if incident.topic not in {topic.name for topic in settings.topics}:
            raise CannotAct(
                f"Incident #{incident_id} belongs to topic {incident.topic!r}, which is no "
                "longer configured in settings.toml."
            )
        if action == "acknowledge":
            transition = acknowledge(incident, actor, now)
        elif action == "resolve":
            transition = resolve(incident, actor, now)
        else:
            transition = give_feedback(incident, action, actor, now)
        apply(ctx, transition, now, actor)
    if transition.events:
        log.info("incident #%d: %s by %s", incident_id, action, actor)
    return transition


def apply_action(
    ctx: Context, action: Action, group_members: GroupMembers | None = None
) -> str | None:
    """Apply a click; returns a message for the clicking user when it was refused."""
    slack = ctx.settings.slack
    allowed_users = slack.allowed_users if slack else []
    group = slack.allowed_group if slack else None
    members = None
    if group is not None:
        members = group_members(group) if group_members else None
        members = members if members is not None else ()  # unknown membership fails closed
    if not is_allowed(action.user_id, allowed_users, members):
        log.warning("%s may not act on incidents (not on the allowlist)", action.actor)
        return "You are not on the list of people who may act on shitstorm incidents."
    try:
        act(ctx, action.incident_id, action.action, action.actor, action.at)
    except CannotAct as exc:
        return str(exc)
    return None
