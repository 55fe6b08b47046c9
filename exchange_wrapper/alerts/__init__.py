"""Alerts: rules over the service's state (conditions), their episodes (core/alerting.py) and their
actions (log, webhook, Slack, mail); docs/alerts.md."""
