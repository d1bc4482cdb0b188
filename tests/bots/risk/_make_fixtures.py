"""Regenerate the guardrail fixture packs under tests/fixtures/bots/<bot_id>/.

Run `python tests/bots/risk/_make_fixtures.py` after changing a scenario here; the packs are
plain JSON so a reviewer can read each case without running anything.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "bots"
NOW = 1_750_000_000_000
MARKET = "0x" + "5a" * 32
YES, NO = "71001", "71002"
STRATEGY = "strat.maker_tight"


def market(status: str = "open") -> dict[str, Any]:
    return {"market_id": MARKET, "question": "Will it happen?", "yes_token": YES, "no_token": NO,
            "tick": "0.01", "min_size": "5", "status": status, "cluster": "politics",
            "observed_at_ms": NOW - 60_000, "source": "sim"}


def book(bid: str, ask: str, age_ms: int = 500, token: str = YES) -> dict[str, Any]:
    return {"market_id": MARKET, "token_id": token, "ts_ms": NOW - age_ms, "tick": "0.01",
            "bids": [{"price": bid, "size": "500"}], "asks": [{"price": ask, "size": "500"}],
            "book_hash": f"book-{token}-{bid}-{ask}-{age_ms}"}


def intent(side: str = "BUY", price: str = "0.50", size: str = "100") -> dict[str, Any]:
    return {"intent_id": "intent-0001", "correlation_id": "corr-0001", "strategy_id": STRATEGY,
            "market_id": MARKET, "token_id": YES, "outcome": "YES", "side": side,
            "order_type": "GTC", "price": price, "size": size, "emitted_at_ms": NOW - 5}


def pack(*, config: dict[str, Any] | None = None, markets: list[Any] | None = None,
         books: list[Any] | None = None, positions: list[Any] | None = None,
         cash: str | None = "1000", reservations: dict[str, Any] | None = None,
         the_intent: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "config": config or {},
        "now_ms": NOW,
        "state": {
            "markets": [market()] if markets is None else markets,
            "positions": positions or [],
            "cash": cash,
            "books": [book("0.48", "0.52")] if books is None else books,
            "reservations": {"pusd": "0", "shares": {}} if reservations is None else reservations,
        },
        "intent": the_intent or intent(),
    }


def expect(decision: str, code: str, constraints: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"decision": decision, "reason_code": code, "constraints": constraints}


def position(size: str, avg: str, strategy: str | None = STRATEGY) -> dict[str, Any]:
    return {"market_id": MARKET, "token_id": YES, "size": size, "avg_price": avg,
            "strategy_id": strategy}


APPROVE = expect("APPROVE", "RISK_APPROVED")

PACKS: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {
    # "reservations" without "pusd" means no orders projection is registered at all
    "risk.market_halt_guard": {
        "normal": (pack(), APPROVE),
        "warning": (pack(books=[book("0.40", "0.55")]),
                    expect("WARNING_ONLY", "RISK_SPREAD_WIDE")),
        "hard": (pack(markets=[market("halted")]), expect("REJECT", "RISK_MARKET_HALTED")),
        "hard_crossed": (pack(books=[book("0.52", "0.52")]),
                         expect("REJECT", "RISK_MARKET_HALTED")),
        "failure": (pack(markets=[]), expect("REJECT", "RISK_UNKNOWN_MARKET")),
    },
    "risk.compliance_gate": {
        "normal": (pack(config={"deny_markets": ["0x" + "99" * 32]}), APPROVE),
        "warning": (pack(config={"watch_clusters": ["politics"]}),
                    expect("WARNING_ONLY", "RISK_MARKET_ON_WATCHLIST")),
        "hard": (pack(config={"deny_markets": [MARKET.upper().replace("0X", "0x")]}),
                 expect("REJECT", "RISK_MARKET_NOT_ALLOWED")),
        "hard_not_on_allow_list": (pack(config={"allow_markets": ["0x" + "99" * 32]}),
                                   expect("REJECT", "RISK_MARKET_NOT_ALLOWED")),
        "hard_cluster": (pack(config={"deny_clusters": ["politics"]}),
                         expect("REJECT", "RISK_MARKET_NOT_ALLOWED")),
        "failure": (pack(markets=[]), expect("REJECT", "RISK_UNKNOWN_MARKET")),
    },
    "risk.stale_book_guard": {
        "normal": (pack(), APPROVE),
        "warning": (pack(books=[book("0.48", "0.52", age_ms=2800)]),
                    expect("WARNING_ONLY", "RISK_BOOK_AGE_WARNING")),
        "hard": (pack(books=[book("0.48", "0.52", age_ms=7000)]),
                 expect("REJECT", "RISK_STALE_BOOK")),
        "failure": (pack(books=[book("0.48", "0.52", token=NO)]),
                    expect("REJECT", "RISK_STALE_BOOK")),
    },
    "risk.wallet_funding_guard": {
        # 1000 cash, BUY 100 x 0.50 = 50 pUSD, 950 left
        "normal": (pack(), APPROVE),
        # free = 300 - 60 reserved - 50 reserve = 190 >= 50; left = 190 < 200 warning reserve
        "warning": (pack(cash="300", reservations={"pusd": "60", "shares": {}}),
                    expect("WARNING_ONLY", "RISK_WALLET_FUNDING_WARNING")),
        # free = 100 - 20 - 50 = 30 pUSD -> 60 shares at 0.50
        "hard": (pack(cash="100", reservations={"pusd": "20", "shares": {}}),
                 expect("RESHAPE_REQUIRED", "RISK_FUNDING_RESHAPE", {"max_size": "60.00"})),
        # free = 51 - 0 - 50 = 1 pUSD -> 2 shares < min size 5
        "hard_short": (pack(cash="51"), expect("REJECT", "RISK_WALLET_FUNDING_SHORT")),
        # holds 40, 30 reserved by open SELLs: 10 free < 100 asked; 10 >= min size 5
        "hard_sell": (pack(positions=[position("40", "0.50")],
                           reservations={"pusd": "0", "shares": {YES: "30"}},
                           the_intent=intent("SELL", "0.50", "100")),
                      expect("RESHAPE_REQUIRED", "RISK_FUNDING_RESHAPE", {"max_size": "10.00"})),
        "failure": (pack(cash=None), expect("REJECT", "RISK_STATE_UNAVAILABLE")),
        "failure_no_orders": (pack(reservations={}), expect("REJECT", "RISK_STATE_UNAVAILABLE")),
    },
    "risk.drawdown_guard": {
        "normal": (pack(), APPROVE),
        # 1000 shares bought at 0.50, cash 500 after: equity 1000 peak; mid 0.465 -> 965 (3.5%)
        "warning": (pack(cash="500", positions=[position("1000", "0.50")],
                         books=[book("0.46", "0.47")], the_intent=intent("BUY", "0.47", "100")),
                    expect("WARNING_ONLY", "RISK_DRAWDOWN_WARNING")),
        # mid 0.45 -> equity 950: 5% >= 4% intraday limit
        "hard": (pack(cash="500", positions=[position("1000", "0.50")],
                      books=[book("0.44", "0.46")], the_intent=intent("BUY", "0.46", "100")),
                 expect("REJECT", "RISK_DRAWDOWN_BREACH")),
        # a risk-reducing SELL still passes in drawdown
        "hard_reducing_sell_passes": (
            pack(cash="500", positions=[position("1000", "0.50")], books=[book("0.44", "0.46")],
                 the_intent=intent("SELL", "0.44", "100")), APPROVE),
        # market exposure 500 of cap 1000: BUY 2000 x 0.50 = 1000 -> 1000 shares fit
        "hard_reshape": (pack(cash="9500", positions=[position("1000", "0.50")],
                              books=[book("0.49", "0.51")],
                              the_intent=intent("BUY", "0.50", "2000")),
                         expect("RESHAPE_REQUIRED", "RISK_PORTFOLIO_CAP_RESHAPE",
                                {"max_size": "1000.00"})),
        # room 2 pUSD -> 4 shares < min size 5
        "hard_market_cap": (pack(cash="9002", positions=[position("1996", "0.50")],
                                 books=[book("0.49", "0.51")],
                                 the_intent=intent("BUY", "0.50", "100")),
                            expect("REJECT", "RISK_MARKET_LIMIT")),
        "failure": (pack(cash=None), expect("REJECT", "RISK_STATE_UNAVAILABLE")),
    },
    "risk.exposure_guard": {
        "normal": (pack(), APPROVE),
        # strategy 300 x 0.50 = 150 (+50) = 200 of equity 1000 = 20% >= 80% of 25%
        "warning": (pack(cash="850", positions=[position("300", "0.50")]),
                    expect("WARNING_ONLY", "RISK_STRATEGY_CAP_NEAR")),
        # 400 x 0.50 = 200 (+100) = 30% > 25%
        "hard": (pack(cash="800", positions=[position("400", "0.50")],
                      the_intent=intent("BUY", "0.50", "200")),
                 expect("REJECT", "RISK_EXPOSURE_CAP_HIT")),
        # another strategy holds 700 x 0.50 = 350 in the cluster: 350 + 50 = 40% > 35%
        "hard_cluster": (pack(cash="650", positions=[position("700", "0.50", "strat.other")]),
                         expect("REJECT", "RISK_EXPOSURE_CAP_HIT")),
        "failure": (pack(cash=None), expect("REJECT", "RISK_STATE_UNAVAILABLE")),
    },
}


def main() -> None:
    for bot_id, cases in PACKS.items():
        folder = ROOT / bot_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
        for name, (inp, exp) in cases.items():
            (folder / f"{name}.json").write_text(json.dumps(copy.deepcopy(inp), indent=2) + "\n")
            (folder / f"expected.{name}.json").write_text(json.dumps(exp, indent=2) + "\n")


if __name__ == "__main__":
    main()
