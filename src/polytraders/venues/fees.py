"""Polymarket's CLOB V2 taker fee, shared by the simulator and the real adapter.

Makers pay nothing; the taker pays ``fee = size * rate * price * (1 - price)`` pUSD with
``rate = fee_rate_bps / 10_000``, rounded half-up to 5 decimals with a 0.00001 minimum when
positive (polymarket-interfaces.md §1.11).  The real CLOB reports ``fee_rate_bps`` on each
trade, not the fee, so the adapter computes the fee with the same function the simulator
charges it with.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = ["FEE_QUANTUM", "taker_fee"]

FEE_QUANTUM: Final = Decimal("0.00001")
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_BPS: Final = Decimal(10_000)


def taker_fee(price: Decimal, size: Decimal, fee_rate_bps: int) -> Decimal:
    """Taker fee in pUSD: ``size * rate * p * (1 - p)``, 5 dp half-up, minimum 0.00001."""
    if fee_rate_bps <= 0:
        return _ZERO
    raw = size * (Decimal(fee_rate_bps) / _BPS) * price * (_ONE - price)
    fee = raw.quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)
    if raw > _ZERO and fee < FEE_QUANTUM:
        return FEE_QUANTUM
    return fee
