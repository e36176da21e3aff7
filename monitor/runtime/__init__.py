"""The long-running daemon (``shitstorm run``) and its I/O: the scheduler, the HTTP endpoint,
systemd notifications, metrics, stream threads and what a button click does."""
