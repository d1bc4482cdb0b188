"""The paper wallet: a bankroll that exists only in the journal (`polytraders run --paper`).

The first paper session on a journal starts from the configured bankroll, journaled as the first
wallet read (`GOV_WALLET_BALANCE`, source "paper bankroll"): it is the *initial* term of the
accounting identity (equity = initial + deposits − withdrawals + adjustments + PnL), so drawdown
is measured against it.  (Journaling it as a `Transfer` deposit instead would make it an external
flow: performance equity would start at zero and the first loss would read as a 100 % drawdown.)
Later sessions continue from the cash the journal already holds (fills since moved it), and the
wallet read they journal is that cash, so nothing shows up as an unexplained adjustment.  No
wallet is ever read.
"""

from __future__ import annotations

from decimal import Decimal

from polytraders.engine.system import TradingSystem


def paper_cash(system: TradingSystem, bankroll: Decimal) -> Decimal:
    """The paper cash this session starts with: the journal's, or the bankroll on a new journal."""
    cash = system.portfolio.cash_pusd()
    return bankroll if cash is None else cash
