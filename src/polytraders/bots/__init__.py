"""Bots, one module per registry id: `risk.kill_switch` lives in `bots/risk/kill_switch.py`."""
