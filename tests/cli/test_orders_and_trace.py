"""`orders` shows the ids `trace` accepts, and `trace` takes every one of them; a rejection is told
with the proposed order and the values the bot saw; an unknown id exits 1."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from factories import make_trusted_runtime
from typer.testing import CliRunner

from polytraders.cli.main import app
from polytraders.contracts import MarketSnapshot
from polytraders.contracts.envelope import Actor
from polytraders.contracts.orders import OrderIntent, RiskVote
from polytraders.runtime.clock import SimClock

T0 = 1_767_571_200_000
MARKET = "0x" + "ab" * 32
YES = "43100551214328175523540133818537037862311844440156948655035444087925907717433"
NO = "38442578723100551214328175523540133818537037862311844440156948655035444087925"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("orders") / "calm.db"
    ran = CliRunner().invoke(app, ["demo", "--minutes", "3", "--markets", "2", "--db", str(db), "--json"])
    assert ran.exit_code == 0, ran.output
    return db


def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from polytraders.cli import common

    monkeypatch.setattr(common.console, "width", 250)  # one row per line, so cells can be read back


def test_orders_show_correlation_ids_names_and_ticks(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _wide(monkeypatch)
    rows = json.loads(CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--json"]).stdout)
    assert rows and all(r["correlation_id"].startswith("oc_") for r in rows)
    text = CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--limit", "0"]).output
    for r in rows:
        assert r["correlation_id"] in text
    assert "Synthetic market" in text and ("· Yes" in text or "· No" in text), "markets by question and outcome"
    assert not re.search(r"\d{30,}", text), "token ids are abbreviated"
    assert not re.search(r"\d\.\d{5,}", text), "no long decimals"
    assert not re.search(r"\b1[0-9]{12}\b", text), "no epoch milliseconds"


def test_the_orders_table_shows_the_newest_and_says_how_many_it_left_out(
        demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _wide(monkeypatch)
    rows = json.loads(CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--json"]).stdout)
    assert len(rows) > 2, "the fixture needs more orders than the limit below"
    newest = sorted(rows, key=lambda r: r["since_ms"])[-2:]
    text = CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--limit", "2"]).output
    assert f"the newest 2 of {len(rows)} orders" in text and "--limit N shows more" in text
    shown = [r["correlation_id"] for r in rows if r["correlation_id"] in text]
    assert sorted(shown) == sorted(r["correlation_id"] for r in newest)
    limited = json.loads(CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--json", "--limit", "3"]).stdout)
    assert len(limited) == 3
    bad = CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--limit", "-1"])
    assert bad.exit_code == 2


def test_trace_accepts_every_id_orders_shows(demo_db: Path) -> None:
    rows = json.loads(CliRunner().invoke(app, ["orders", "--db", str(demo_db), "--json"]).stdout)
    order = next(r for r in rows if r.get("venue_order_id"))
    expected = None
    for key in ("correlation_id", "client_order_id", "intent_id", "venue_order_id"):
        ran = CliRunner().invoke(app, ["trace", order[key], "--db", str(demo_db), "--json"])
        assert ran.exit_code == 0, (key, ran.output)
        data = json.loads(ran.stdout)
        assert data["correlation_ids"] == [order["correlation_id"]], key
        seqs = [e["seq"] for e in data["entries"]]
        kinds = {e["envelope"]["kind"] for e in data["entries"]}
        assert {"order_intent", "decision_record", "order_record"} <= kinds, (key, kinds)
        # the decision record holds every vote: the kill switch, the six guardrails, the router's
        # plan and both security checks, each with its bot, mode and reason code
        [record] = [e["envelope"] for e in data["entries"] if e["envelope"]["kind"] == "decision_record"][:1]
        steps = record["payload"]["steps"]
        assert [s["bot_id"] for s in steps] == [
            "risk.kill_switch", "risk.market_halt_guard", "risk.compliance_gate", "risk.stale_book_guard",
            "risk.wallet_funding_guard", "risk.drawdown_guard", "risk.exposure_guard", "exec.smart_router",
            "sec.contract_address_guard", "sec.wallet_permission_guard"], key
        assert {s["output_kind"] for s in steps} == {"risk_vote", "execution_plan"}
        assert all(s["mode"] == "enforced" and not s["blocked"] for s in steps)
        assert steps[7]["reason_code"] == "EXEC_PLAN_CREATED" and record["reason_code"] == "EXEC_PLAN_CREATED"
        assert all(s["output"]["decision"] == "APPROVE" for s in steps if s["output_kind"] == "risk_vote")
        assert seqs == sorted(seqs)
        expected = expected or seqs
        assert seqs == expected, f"{key} finds the same decision"


@pytest.mark.parametrize("bad", ["co_does_not_exist", "", "A" * 5000, 'x"y'])
def test_trace_of_an_unknown_id_exits_1(demo_db: Path, bad: str) -> None:
    ran = CliRunner().invoke(app, ["trace", bad, "--db", str(demo_db)])
    assert ran.exit_code == 1 and "no decision carries the id" in ran.output
    ran = CliRunner().invoke(app, ["trace", bad, "--db", str(demo_db), "--json"])
    assert ran.exit_code == 1
    assert json.loads(ran.stdout)["reason_code"] == "GOV_CLI_NOT_FOUND"


def test_trace_of_a_rejection_shows_the_proposed_order_and_observed_values(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _wide(monkeypatch)
    clock = SimClock(T0)
    rt, _ = make_trusted_runtime(tmp_path / "rej.db", clock)
    feed = Actor(kind="system", id="feed.sim")
    rt.record(MarketSnapshot(market_id=MARKET, question="Will the bill pass the senate?", yes_token=YES, no_token=NO,
                             tick=Decimal("0.01"), min_size=Decimal(5), observed_at_ms=T0),
              actor=feed, reason_code="GOV_MARKET_DATA")
    intent = OrderIntent(intent_id="oi_test_reject_1", correlation_id="oc_test_reject_1",
                         strategy_id="strat.maker_tight", market_id=MARKET, token_id=YES, outcome="YES", side="BUY",
                         price=Decimal("0.47"), size=Decimal("120"), emitted_at_ms=T0)
    rt.record(intent, actor=Actor(kind="bot", id="strat.maker_tight"), reason_code="STRAT_EDGE_DETECTED")
    vote = RiskVote(guard_id="risk.drawdown_guard", intent_id=intent.intent_id, decision="REJECT",
                    severity="P1", reason_code="RISK_DRAWDOWN_BREACH",
                    message="intraday drawdown 6.1% is past the 5% limit",
                    observed={"drawdown_intraday_pct": "6.1", "limit_pct": "5"})
    rt.record(vote, actor=Actor(kind="bot", id="risk.drawdown_guard"), reason_code=vote.reason_code,
              correlation_id=intent.correlation_id)
    rt.journal.close()
    for ident in ("oi_test_reject_1", "oc_test_reject_1"):
        ran = CliRunner().invoke(app, ["trace", ident, "--db", str(tmp_path / "rej.db")])
        assert ran.exit_code == 0, ran.output
        text = ran.output
        assert "proposed: BUY 120.00 @ 0.47" in text and "Will the bill pass the senate? · Yes" in text
        assert "REJECTED" in text and "risk.drawdown_guard" in text and "RISK_DRAWDOWN_BREACH" in text
        assert "drawdown_intraday_pct=6.1" in text and "limit_pct=5" in text
        assert "2026-01-05" in text and not re.search(r"\b1[0-9]{12}\b", text)


def test_trace_of_a_rejection_inside_a_decision_record_names_the_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The order path's one envelope per decision: trace shows every step as a row and leads with
    the rejecting step, its guard and the values it saw."""
    from polytraders.contracts.decisions import DecisionStep

    _wide(monkeypatch)
    clock = SimClock(T0)
    rt, _ = make_trusted_runtime(tmp_path / "rec.db", clock)
    intent = OrderIntent(intent_id="oi_test_reject_2", correlation_id="oc_test_reject_2",
                         strategy_id="strat.maker_tight", market_id=MARKET, token_id=YES, outcome="YES", side="BUY",
                         price=Decimal("0.47"), size=Decimal("120"), emitted_at_ms=T0)
    rt.record(intent, actor=Actor(kind="bot", id="strat.maker_tight"), reason_code="STRAT_EDGE_DETECTED")
    armed = RiskVote(guard_id="risk.kill_switch", intent_id=intent.intent_id, decision="APPROVE",
                     reason_code="RISK_KILLSWITCH_ARMED", message="no trip in scope")
    breach = RiskVote(guard_id="risk.drawdown_guard", intent_id=intent.intent_id, decision="REJECT",
                      severity="P1", reason_code="RISK_DRAWDOWN_BREACH",
                      message="intraday drawdown 6.1% is past the 5% limit",
                      observed={"drawdown_intraday_pct": "6.1", "limit_pct": "5"})
    steps = [DecisionStep.of(v.guard_id, "enforced", "1", (), v.reason_code, "risk_vote", v.to_json_dict(),
                             v.decision == "REJECT") for v in (armed, breach)]
    entry = rt.record_decision(intent.intent_id, "rejected", steps, reason_code="RISK_DRAWDOWN_BREACH",
                               correlation_id=intent.correlation_id)
    rt.journal.close()
    ran = CliRunner().invoke(app, ["trace", "oi_test_reject_2", "--db", str(tmp_path / "rec.db")])
    assert ran.exit_code == 0, ran.output
    text = ran.output
    assert "proposed: BUY 120.00 @ 0.47" in text
    assert f"REJECTED at seq {entry.seq}.2 by risk.drawdown_guard: RISK_DRAWDOWN_BREACH" in text
    assert "drawdown_intraday_pct=6.1" in text and "limit_pct=5" in text
    assert f"{entry.seq}.1" in text and "RISK_KILLSWITCH_ARMED · APPROVE" in text
    assert "RISK_DRAWDOWN_BREACH · REJECT" in text
