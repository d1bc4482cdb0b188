"""The paper wallet: a bankroll that exists only in the journal (`polytraders run --paper`).

The first paper session on a journal journals the configured bankroll as a `Transfer` deposit
(source "paper") before the first wallet read, so the read agrees with the books and the
accounting identity holds (equity = initial 0 + the deposit + PnL).  Later sessions continue
from the cash the journal already holds (fills since moved it): the wallet read they journal is
that cash, so nothing shows up as an unexplained adjustment.  No wallet is ever read.
"""

from __future__ import annotations

from decimal import Decimal

from polytraders.contracts import Transfer
from polytraders.contracts.transfers import TRANSFER_REASON
from polytraders.engine.system import WALLET, TradingSystem

PAPER_SOURCE = "paper"


def fund_paper_bankroll(system: TradingSystem, bankroll: Decimal) -> Decimal:
    """Deposit ``bankroll`` once per journal; returns the paper cash the session starts with."""
    cash = system.portfolio.cash_pusd()
    if cash is not None:
        return cash
    if bankroll > 0:
        system.runtime.record(Transfer(direction="deposit", amount_pusd=bankroll, source=PAPER_SOURCE),
                              actor=WALLET, reason_code=TRANSFER_REASON["deposit"], durable=True)
    return bankroll
