"""Shitstorm early-warning monitor: the runtime that connects the pipeline."""

__version__ = "0.1.0"
