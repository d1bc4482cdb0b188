"""The Order Lifecycle Manager's two state machines, as data.

Order axis (one row per legal `(state, event) -> next state`; anything else is illegal and the
OLM journals `EXEC_ILLEGAL_TRANSITION` without touching the order):

    created --signed--> signed --submitted--> submitted --ack--> live
    live/partially_filled --partial_fill/fill--> partially_filled/filled
    live/partially_filled/submitted --cancel_requested--> cancel_pending
    cancel_pending/live/partially_filled --cancel_confirmed--> cancelled
    cancel_pending --cancel_rejected/cancel_timeout--> (the status before the cancel)
    submitted/live/partially_filled/cancel_pending --expire--> expired
    created/signed/submitted --reject--> rejected

Terminal states (filled, cancelled, expired, rejected) have no outgoing rows. A repeated ack on
an order the venue already confirmed (a late ack after reconciliation found the order) maps to
the same state and is treated as a no-op, not as an illegal move.

Settlement axis (per fill, Polymarket trade status): MATCHED -> MINED -> CONFIRMED, and from
MATCHED or MINED a detour through RETRYING that ends in MINED, CONFIRMED or FAILED. CONFIRMED and
FAILED are terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Literal

from polytraders.contracts.orders import OrderStatus, SettlementStatus

OrderEvent = Literal[
    "signed",
    "submitted",
    "ack",
    "partial_fill",
    "fill",
    "cancel_requested",
    "cancel_confirmed",
    "cancel_rejected",
    "cancel_timeout",
    "expire",
    "reject",
]

RESTORE: Final = "__restore__"
"""Target meaning "back to the status the order had before cancel_pending": a refused or
timed-out cancel leaves the order resting (partially_filled if anything filled, else live)."""

Target = OrderStatus | Literal["__restore__"]

ORDER_TRANSITIONS: Final[Mapping[tuple[OrderStatus, OrderEvent], Target]] = {
    ("created", "signed"): "signed",
    ("created", "reject"): "rejected",
    ("signed", "submitted"): "submitted",
    ("signed", "reject"): "rejected",
    # A venue may report fills, a kill (FAK rest) or an expiry before we have seen its ack.
    ("submitted", "ack"): "live",
    ("submitted", "partial_fill"): "partially_filled",
    ("submitted", "fill"): "filled",
    ("submitted", "cancel_requested"): "cancel_pending",
    ("submitted", "cancel_confirmed"): "cancelled",
    ("submitted", "expire"): "expired",
    ("submitted", "reject"): "rejected",
    ("live", "ack"): "live",
    ("live", "partial_fill"): "partially_filled",
    ("live", "fill"): "filled",
    ("live", "cancel_requested"): "cancel_pending",
    # Venue-initiated cancels (FAK remainder, market resolved, cancel-all) arrive without a
    # cancel_pending step.
    ("live", "cancel_confirmed"): "cancelled",
    ("live", "expire"): "expired",
    ("partially_filled", "ack"): "partially_filled",
    ("partially_filled", "partial_fill"): "partially_filled",
    ("partially_filled", "fill"): "filled",
    ("partially_filled", "cancel_requested"): "cancel_pending",
    ("partially_filled", "cancel_confirmed"): "cancelled",
    ("partially_filled", "expire"): "expired",
    ("cancel_pending", "ack"): "cancel_pending",
    # A fill can race the cancel; the order stays pending until the cancel is answered.
    ("cancel_pending", "partial_fill"): "cancel_pending",
    ("cancel_pending", "fill"): "filled",
    ("cancel_pending", "cancel_confirmed"): "cancelled",
    ("cancel_pending", "cancel_rejected"): RESTORE,
    ("cancel_pending", "cancel_timeout"): RESTORE,
    ("cancel_pending", "expire"): "expired",
}

TERMINAL: Final[frozenset[OrderStatus]] = frozenset({"filled", "cancelled", "expired", "rejected"})
OPEN: Final[frozenset[OrderStatus]] = frozenset({"live", "partially_filled", "cancel_pending"})
IN_FLIGHT: Final[frozenset[OrderStatus]] = frozenset(
    {"created", "signed", "submitted", "cancel_pending"}
)
"""Not yet confirmed by the venue: sent (or about to be) and awaiting its answer."""

SETTLEMENT_TRANSITIONS: Final[Mapping[SettlementStatus, frozenset[SettlementStatus]]] = {
    "MATCHED": frozenset({"MINED", "RETRYING"}),
    "MINED": frozenset({"CONFIRMED", "RETRYING"}),
    "RETRYING": frozenset({"MINED", "CONFIRMED", "FAILED"}),
    "CONFIRMED": frozenset(),
    "FAILED": frozenset(),
}
SETTLEMENT_TERMINAL: Final[frozenset[SettlementStatus]] = frozenset({"CONFIRMED", "FAILED"})


def next_status(
    status: OrderStatus, event: OrderEvent, *, filled: Decimal = Decimal(0)
) -> OrderStatus | None:
    """The status after `event`, or None when the table has no such row (illegal)."""
    target = ORDER_TRANSITIONS.get((status, event))
    if target is None:
        return None
    if target == RESTORE:
        return "partially_filled" if filled > 0 else "live"
    return target


def settlement_allowed(current: SettlementStatus, new: SettlementStatus) -> bool:
    return new in SETTLEMENT_TRANSITIONS[current]


def legal_events(status: OrderStatus) -> tuple[OrderEvent, ...]:
    """Events the table accepts in `status` (for explain/health output and tests)."""
    return tuple(ev for (st, ev) in ORDER_TRANSITIONS if st == status)
