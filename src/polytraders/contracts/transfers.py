"""Deposits and withdrawals of pUSD, as explicit facts.

A transfer moves cash into or out of the wallet without being a trade: it changes equity but
never PnL or drawdown. It is journaled by whoever knows about it (the wallet read path when a
read differs from what fills explain, or a scenario script), before the wallet read that shows
the new balance, so the read then agrees with the books.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from polytraders.contracts.base import Contract, Size

TRANSFER_REASON = {"deposit": "GOV_WALLET_DEPOSIT", "withdrawal": "GOV_WALLET_WITHDRAWAL"}
"""The reason code each direction is journaled under."""


class Transfer(Contract):
    """pUSD moved into (`deposit`) or out of (`withdrawal`) the trading wallet."""

    kind: ClassVar[str] = "transfer"
    direction: Literal["deposit", "withdrawal"]
    amount_pusd: Size
    source: str = Field(default="sim", max_length=64)
    """Where the fact came from: `sim` (a scenario script), `wallet_read`, or an operator."""
