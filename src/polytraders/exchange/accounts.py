"""Per-address collateral (pUSD), outcome-share balances and allowances.

Balances are held per *funder* (the order's ``maker``).  Open orders reserve what they could
spend: a BUY its unfilled ``remaining x price`` pUSD, a SELL its unfilled shares.  A new order
is accepted only if the balance less those reservations covers it (the CLOB's "not enough
balance / allowance").  Every address the exchange first sees is credited the configured
starting balance with unlimited allowances, so any client can trade at once; with a starting
balance of 0 the admin endpoint funds addresses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from eth_utils.address import to_checksum_address

from polytraders.signing.constants import CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2

UNITS: Final = Decimal(1_000_000)
MAX_ALLOWANCE: Final = Decimal(2**256 - 1) / UNITS
SPENDERS: Final = (CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2)
_ZERO: Final = Decimal(0)


def to_units(value: Decimal) -> str:
    """6-decimal base units as an integer string (the wire form of balances)."""
    return str(int((value * UNITS).to_integral_value()))


@dataclass(slots=True)
class Account:
    address: str
    collateral: Decimal
    allowance: Decimal
    shares: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: _ZERO))


class Ledger:
    """All accounts.  Knows nothing about orders: callers pass reservations in."""

    def __init__(self, starting_balance: Decimal) -> None:
        self._starting = starting_balance
        self._accounts: dict[str, Account] = {}
        self.chain: Any = None  # exchange/chain.py ChainSettlement under `serve --chain`

    def account(self, address: str) -> Account:
        key = address.lower()
        acct = self._accounts.get(key)
        if acct is None:
            funded = self._starting > 0
            acct = Account(to_checksum_address(address), self._starting, MAX_ALLOWANCE if funded else _ZERO)
            self._accounts[key] = acct
            if self.chain is not None:
                self.chain.opened(acct.address, self._starting)
        return acct

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def fund(self, address: str, amount: Decimal, token_id: str | None = None) -> Account:
        """Admin credit (negative debits).  Funding collateral also sets allowances."""
        acct = self.account(address)
        if token_id is None:
            acct.collateral += amount
            acct.allowance = MAX_ALLOWANCE
        else:
            acct.shares[token_id] += amount
        if self.chain is not None:
            self.chain.funded(acct.address, amount, token_id)
        return acct

    def set_allowance(self, address: str, amount: Decimal) -> None:
        self.account(address).allowance = amount

    def settle_fill(self, address: str, token_id: str, side: str, price: Decimal, size: Decimal, fee: Decimal) -> None:
        """Move pUSD and shares for one fill of one of ``address``'s orders (fee in pUSD)."""
        acct = self.account(address)
        notional = price * size
        if side == "BUY":
            acct.collateral -= notional + fee
            acct.shares[token_id] += size
        else:
            acct.shares[token_id] -= size
            acct.collateral += notional - fee

    def resolve(self, token_id: str, payout: Decimal) -> None:
        """Redeem every holder's ``token_id`` shares at ``payout`` pUSD each (1 or 0)."""
        for acct in self._accounts.values():
            held = acct.shares.pop(token_id, _ZERO)
            acct.collateral += held * payout

    def balance_json(self, address: str, asset_type: str, token_id: str) -> dict[str, Any]:
        """``GET /balance-allowance`` (V2 shape: one allowance per exchange spender)."""
        acct = self.account(address)
        value = acct.shares.get(token_id, _ZERO) if asset_type.upper() == "CONDITIONAL" else acct.collateral
        allowance = str(2**256 - 1) if acct.allowance >= MAX_ALLOWANCE else to_units(acct.allowance)
        return {"balance": to_units(value), "allowances": {spender: allowance for spender in SPENDERS}}
