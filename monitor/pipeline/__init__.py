"""The three steps of the monitor — ingest, evaluate, deliver — as plain functions of ``now``.

``monitor/runtime/service.py`` calls them from scheduler jobs with the wall clock;
``monitor/offline/replay.py`` with a simulated one. Neither the steps nor anything they
call reads the clock. Each module has one job, in the order a mention travels:

- :mod:`.ingest`: a poll's result → stored mentions and cursor, or a failure; blind checks.
- :mod:`.buckets`: when a bucket closes and whether it was watched well enough to be judged.
- :mod:`.judge`: a closed bucket → the detector's verdict → the incident moved on.
- :mod:`.detector_state`: each topic's detector, saved, restored and warmed up.
- :mod:`.notify`: which alerters hear of which event; silences and escalation.
- :mod:`.outbox`: delivering notifications, with backoff, rate limits and supersede.
- :mod:`.prune`: retention.

Every step takes a :class:`~.context.Context` (store, settings, the alerters that exist).
"""
