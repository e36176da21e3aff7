"""Evaluation and replay tools that never run inside the daemon: replay, backtests, calibration,
the NAB benchmark, the demo and the synthetic storms they are measured on."""
