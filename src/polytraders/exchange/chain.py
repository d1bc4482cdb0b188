"""`exchange serve --chain URL`: the local exchange settles on a real EVM node (anvil).

At start it deploys the stand-in pUSD (ERC-20) and conditional tokens (ERC-1155), and from then
on every account's starting balance and every admin credit is minted on chain, and every trade
of an account settles on chain when it reaches MINED: a BUY moves pUSD (notional + fee) from the
account to the house and mints the shares to it; a SELL moves the shares to the house and pUSD
(notional - fee) back. CONFIRMED then follows as the venue says. A trade that FAILED never
reached MINED, so nothing on chain is undone. Only loopback nodes are accepted.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlparse

from polytraders.chain.anvil import ChainAdmin
from polytraders.chain.env import _units

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
HOUSE_FLOAT_UNITS = 10**15


class ChainSettlement:
    def __init__(self, url: str) -> None:
        host = urlparse(url).hostname or ""
        if host not in LOOPBACK:
            raise ValueError(f"--chain must be a loopback node (127.0.0.1, localhost or ::1), not {host!r}")
        self.url = url
        self.admin = ChainAdmin.deploy(url)
        self.house = self.admin.deployment.owner
        self.admin.mint_pusd(self.house, HOUSE_FLOAT_UNITS)
        self.errors: list[str] = []

    @property
    def pusd(self) -> str:
        return self.admin.deployment.pusd

    @property
    def ctf(self) -> str:
        return self.admin.deployment.ctf

    def _safely(self, what: str, fn: object, *args: object) -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except Exception as exc:  # the venue keeps running; the reconciler will see the difference
            self.errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:160]}")

    def opened(self, address: str, starting: Decimal) -> None:
        if starting > 0:
            self._safely("mint starting balance", self.admin.mint_pusd, address, _units(starting))

    def funded(self, address: str, amount: Decimal, token_id: str | None) -> None:
        units = _units(abs(amount))
        if units == 0:
            return
        if token_id is None:
            if amount > 0:
                self._safely("fund pUSD", self.admin.mint_pusd, address, units)
            else:
                self._safely("debit pUSD", self.admin.transfer_pusd, address, self.house, units)
        elif amount > 0:
            self._safely("fund shares", self.admin.mint_token, address, token_id, units)
        else:
            self._safely("debit shares", self.admin.transfer_token, address, self.house, token_id, units)

    def settle(self, address: str, token_id: str, side: str, price: Decimal, size: Decimal, fee: Decimal) -> None:
        notional = price * size
        if side == "BUY":
            self._safely("settle BUY pUSD", self.admin.transfer_pusd, address, self.house, _units(notional + fee))
            self._safely("settle BUY shares", self.admin.mint_token, address, token_id, _units(size))
        else:
            self._safely("settle SELL shares", self.admin.transfer_token, address, self.house, token_id, _units(size))
            self._safely("settle SELL pUSD", self.admin.transfer_pusd, self.house, address, _units(notional - fee))
