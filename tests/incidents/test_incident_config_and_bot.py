"""Incident config loading (roster, notifiers, errors naming the key) and gov.incident_commander."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_incidents import make_runtime

from polytraders.bots.gov.incident_commander import AlertInput, IncidentCommander
from polytraders.errors import ConfigError
from polytraders.incidents.config import ENV_VAR, UNASSIGNED, load_incident_config


def _write(tmp: Path, text: str) -> Path:
    p = tmp / "inc.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    cfg = load_incident_config(None)
    assert cfg.roster.commander_for("risk") == UNASSIGNED
    assert cfg.notifiers.channel_path == Path("incidents/channel.jsonl")
    assert cfg.warnings and "unassigned" in cfg.warnings[0]


def test_roster_and_notifiers_from_toml(tmp_path: Path) -> None:
    p = _write(tmp_path, '[oncall]\nrisk = ["alice", "bob"]\nsecurity = ["dave"]\n'
                         '[notifiers]\nchannel_path = "c.jsonl"\nretries = 1\n')
    cfg = load_incident_config(p)
    assert cfg.roster.commander_for("risk") == "alice"
    assert cfg.roster.commander_for("trading_ops") == UNASSIGNED
    assert cfg.notifiers.channel_path == tmp_path / "c.jsonl"
    assert cfg.notifiers.retries == 1
    assert cfg.warnings == ()


@pytest.mark.parametrize(("text", "key"), [
    ('[oncall]\nrisk = "alice"\n', "oncall.risk"),
    ('[notifiers]\nretries = 99\n', "notifiers.retries"),
    ('[notifiers]\npagerduty_routing_key = "  "\n', "notifiers.pagerduty_routing_key"),
    ('[paging]\nx = 1\n', "paging"),
    ('[incidents]\nsnapshot_dir = "x"\n', "incidents.snapshot_dir"),
    ('[oncall\n', "not valid TOML"),
])
def test_bad_file_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_incident_config(_write(tmp_path, text))
    assert key in str(err.value)


def test_secret_never_in_config_error(tmp_path: Path) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    p = _write(tmp_path, f'[notifiers]\nslack_webhook_url = "{secret}"\nretries = -1\n')
    with pytest.raises(ConfigError) as err:
        load_incident_config(p)
    assert "SECRETSECRET" not in str(err.value)


def _decide(tmp: Path, alert: AlertInput) -> dict[str, object]:
    rt, _ = make_runtime(tmp)
    bot = rt.add_bot(IncidentCommander())
    out = rt.decide(bot, alert)
    assert out.entry is not None
    detail = out.entry.envelope.payload["detail"]
    assert isinstance(detail, dict)
    detail["_code"] = out.entry.envelope.reason_code
    return detail


def test_a_trip_has_no_confirm_window_but_is_flap_checked(tmp_path: Path) -> None:
    d = _decide(tmp_path, AlertInput("ks", "RISK_KILLSWITCH_TRIPPED", "drawdown_intraday",
                                     "confirmed", page_due=True, source_seq=7))
    assert d["_code"] == "GOV_ALERT_CONFIRMED"
    assert d["playbook"] == "kill_switch" and d["priority"] == "P0" and d["page_role"] == "risk"
    assert d["open_incident"] is True and d["page"] is True and d["confirm_window_ms"] == 0
    (tmp_path / "f").mkdir()
    d = _decide(tmp_path / "f", AlertInput("ks", "RISK_KILLSWITCH_TRIPPED", "drawdown_intraday",
                                           "flapping", page_due=False, source_seq=9))
    assert d["_code"] == "GOV_ALERT_FLAPPING"
    assert d["open_incident"] is False and d["page"] is False


def test_flapping_and_unknown_alerts(tmp_path: Path) -> None:
    d = _decide(tmp_path, AlertInput("api", "GOV_API_DEGRADED", "clob_rest", "flapping"))
    assert d["_code"] == "GOV_ALERT_FLAPPING" and d["open_incident"] is False
    assert d["page"] is False
    (tmp_path / "x").mkdir()
    d = _decide(tmp_path / "x",
                AlertInput("odd", "GOV_CONFIG_IN_SYNC", "bot.x", "confirmed", page_due=True))
    assert d["_code"] == "GOV_ALERT_CONFIRMED"
    assert d["playbook"] is None and d["open_incident"] is False  # no playbook answers this code
