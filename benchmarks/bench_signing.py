"""Signing speed: median and p99 of ``sign_order`` over ~2,000 calls (time.perf_counter_ns).

Run: ``python benchmarks/bench_signing.py [--n 2000] [--official]``.  ``--official`` also times
py-clob-client-v2's ``ExchangeOrderBuilderV2.build_signed_order`` on the same orders.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from eth_hash.auto import keccak

from polytraders.signing.constants import BUILDER_CODE, CHAIN_CONTRACTS
from polytraders.signing.order import (
    OrderSigner,
    UnsignedOrderV2,
    build_order,
    order_hash,
    sign_order,
)

KEY = "0x" + keccak(b"polytraders-bench-throwaway-key").hex()
TOKEN_ID = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def _orders(n: int, signer: OrderSigner) -> list[UnsignedOrderV2]:
    base = build_order(
        token_id=TOKEN_ID,
        side="BUY",
        price=Decimal("0.55"),
        size=Decimal("10"),
        tick=Decimal("0.01"),
        maker=signer.address,
        signer=signer.address,
        signature_type=0,
        timestamp_ms=1_767_225_600_000,
        salt=1,
        builder_code=BUILDER_CODE,
    )
    return [
        dataclasses.replace(base, salt=i + 1, timestamp_ms=base.timestamp_ms + i) for i in range(n)
    ]


def _time(fn: Callable[[UnsignedOrderV2], Any], orders: list[UnsignedOrderV2]) -> list[int]:
    for order in orders[:100]:  # warm-up
        fn(order)
    samples: list[int] = []
    for order in orders:
        start = time.perf_counter_ns()
        fn(order)
        samples.append(time.perf_counter_ns() - start)
    return samples


def _report(label: str, samples: list[int]) -> None:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    print(
        f"{label:<44} n={len(samples)}  median={statistics.median(samples) / 1000:8.1f} us"
        f"  p99={p99 / 1000:8.1f} us  max={ordered[-1] / 1000:8.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--official", action="store_true")
    args = parser.parse_args()

    signer = OrderSigner(KEY)
    orders = _orders(args.n, signer)
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    _report(
        "polytraders sign_order (EOA, 137)",
        _time(lambda o: sign_order(o, signer, 137, False), orders),
    )
    _report("polytraders order_hash only", _time(lambda o: order_hash(o, 137, False), orders))

    if args.official:
        from py_clob_client_v2.order_utils import (  # type: ignore[import-untyped]
            ExchangeOrderBuilderV2,
            OrderDataV2,
            Side,
            SignatureTypeV2,
        )
        from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped]

        def official(order: UnsignedOrderV2) -> Any:
            builder = ExchangeOrderBuilderV2(
                CHAIN_CONTRACTS[137].ctf_exchange_v2,
                137,
                Signer(KEY, 137),
                generate_salt=lambda: str(order.salt),
            )
            return builder.build_signed_order(
                OrderDataV2(
                    maker=order.maker,
                    tokenId=str(order.token_id),
                    makerAmount=str(order.maker_amount),
                    takerAmount=str(order.taker_amount),
                    side=Side(order.side),
                    signer=order.signer,
                    signatureType=SignatureTypeV2(order.signature_type),
                    timestamp=str(order.timestamp_ms),
                    metadata=order.metadata,
                    builder=order.builder,
                )
            )

        _report("py-clob-client-v2 build_signed_order (ref)", _time(official, orders))


if __name__ == "__main__":
    main()
