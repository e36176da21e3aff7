"""What every pipeline step works with, passed as one argument instead of three."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.settings import Settings
from monitor.store import Store


@dataclass(frozen=True)
class Context:
    """A store connection, the settings, and the alerters notifications are written for.

    ``alerter_names`` is decided once by whoever runs the pipeline, from its own environment:
    the daemon from the environment it was started with
    (:func:`monitor.runtime.assembly.alerter_names`), replay from the alerters it delivers to.
    A notification written for an alerter nobody delivers to would wait in the outbox forever.
    """

    store: Store
    settings: Settings
    alerter_names: tuple[str, ...]
