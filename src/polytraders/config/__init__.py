"""Approved config (a git repository), running config, overrides and the config drift playbook."""
