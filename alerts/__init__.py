"""Incidents, notifications and the alerters that deliver them (console, Slack)."""
