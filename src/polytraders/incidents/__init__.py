"""Incidents: the incident model, playbooks and the notifiers the incident commander uses."""
