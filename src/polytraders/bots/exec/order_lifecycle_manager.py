"""exec.order_lifecycle_manager: the single owner of every order, from signing to a final state.

Purpose: record each order's state machine (`olm_transitions.ORDER_TRANSITIONS`) and each fill's
settlement (`SETTLEMENT_TRANSITIONS`) as journaled envelopes; submit and cancel at the venue with
the causing envelope durably journaled first (write-ahead); detect stuck-in-flight and orphaned
orders and reconcile our open orders against the venue's.

Inputs: signed orders from the pipeline (`SignedOrderRequest` + `PlannedOrder` + `OrderIntent`),
venue events (ack, fill, cancel, expire, reject, trade_status), `venue.open_orders()` for
reconciliation, the kill switch (a covering trip refuses new submissions).
Outputs: `order_record` envelopes (one per transition; the resting orders a cancel-all's
answer cancelled go into one `order_batch`, see `contracts/order_batch.py`), `fill` envelopes
(one per fill and per settlement change), `note` envelopes for stuck/orphan/reconcile/illegal-transition findings.
The `orders` projection (`polytraders.state.orders`) folds them.
Every venue event is first checked against the order it claims (`execution.venue_checks`): an
impossible one (unknown order for a fill, overfill, price outside (0, 1), negative fee, NaN, ...)
is journaled as `EXEC_VENUE_ANOMALY` and never applied; the kill switch trips for its market.

Parameters (default / warning / hard):
- stuck_order_timeout_s   30 / 60 / 120  seconds in created/signed/submitted/cancel_pending
                                         before the order counts as stuck and is reconciled
- reconcile_interval_s    10 / 30 / 60   seconds between full reconciliations
- auto_cancel_orphans     True (option)  cancel venue orders no internal record owns

Reason codes: EXEC_ORDER_CREATED, EXEC_ORDER_SIGNED, EXEC_SUBMITTED, EXEC_RESTING,
EXEC_PARTIAL_FILL_HANDLED, EXEC_FILL, EXEC_CANCEL_REQUESTED, EXEC_CANCELLED, EXEC_CANCEL_REJECTED,
EXEC_CANCEL_TIMEOUT, EXEC_EXPIRED, EXEC_REJECTED, EXEC_VENUE_RATE_LIMITED, EXEC_VENUE_UNAVAILABLE,
EXEC_STUCK_ORDER, EXEC_ORPHAN_ORDER, EXEC_ILLEGAL_TRANSITION, EXEC_RECONCILED, EXEC_RECONCILE_DIFF,
EXEC_SETTLEMENT_UPDATED, EXEC_SETTLEMENT_CONFIRMED, EXEC_SETTLEMENT_FAILED,
EXEC_DUPLICATE_SUPPRESSED, EXEC_CANCEL_ALL, EXEC_BAD_ENVELOPE, EXEC_VENUE_ANOMALY,
RISK_KILLSWITCH_ACTIVE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Final

from polytraders.bots.exec.olm_transitions import (
    OrderEvent,
    next_status,
    settlement_allowed,
)
from polytraders.contracts import (
    Note,
    OrderIntent,
    OrderRecord,
    PlannedOrder,
    SignedOrderRequest,
)
from polytraders.contracts.base import Contract, assembled
from polytraders.contracts.envelope import Actor
from polytraders.contracts.order_batch import BatchedOrderRecord, OrderBatch
from polytraders.contracts.orders import (
    OrderStatus,
    SettlementStatus,
    fill_record,
    moved_record,
    order_record,
    settled_fill,
)
from polytraders.execution.venue_checks import Anomaly, check_event, observed_text
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer
from polytraders.runtime.runner import Runtime
from polytraders.state.markets import MarketsProjection
from polytraders.state.orders import OPEN_STATUSES, VENUE_ANOMALY, OrdersProjection, OrderState
from polytraders.venues.base import (
    CANCEL_ALREADY_CANCELED,
    CANCEL_ALREADY_MATCHED,
    CANCEL_ORDER_NOT_FOUND,
    INVALID_ORDER_DUPLICATED,
    OpenOrderView,
    OutcomeUnknown,
    Venue,
    VenueError,
    VenueEvent,
    VenueOrder,
)

BOT_ID: Final = "exec.order_lifecycle_manager"
ACTOR: Final = Actor(kind="bot", id=BOT_ID)
_CANCEL_REFUSALS: Final = frozenset(
    {CANCEL_ORDER_NOT_FOUND, CANCEL_ALREADY_MATCHED, CANCEL_ALREADY_CANCELED}
)
INFLIGHT_TIMEOUT: Final = "INFLIGHT_TIMEOUT"
"""venue_error of a submitted order the venue never confirmed and does not hold."""
NEVER_SUBMITTED: Final = "NEVER_SUBMITTED"
"""venue_error of an order journaled as created/signed that was never sent (write-ahead)."""
_NO_SIZE: Final = Decimal(0)  # the open size passed with events that record no fill (never read)

_SETTLEMENT_CODE: Final[dict[SettlementStatus, str]] = {
    "MATCHED": "EXEC_SETTLEMENT_UPDATED",
    "MINED": "EXEC_SETTLEMENT_UPDATED",
    "RETRYING": "EXEC_SETTLEMENT_UPDATED",
    "CONFIRMED": "EXEC_SETTLEMENT_CONFIRMED",
    "FAILED": "EXEC_SETTLEMENT_FAILED",
}




def _with_status(rec: OrderRecord, status: OrderStatus) -> OrderRecord:
    """`rec` moved to `status` (its old status becomes `previous`), every other value kept: the
    record's own values are already validated and a table status is valid, so no validation
    pass, and no per-field checks either (what `Contract.trusted` does for values it is handed);
    one per order on the trip path."""
    f = rec.__dict__
    return assembled(OrderRecord, _RECORD_FIELDS, {**f, "status": status, "previous": f["status"]})


_RECORD_FIELDS: Final = frozenset(OrderRecord.model_fields) - {"schema_version"}


def _trade_key(ev: VenueEvent) -> str:
    """The trade id a fill is recorded (and deduplicated) under; venues without one get a key
    made of what identifies the match."""
    return ev.trade_id or f"{ev.venue_order_id}:{ev.ts_ms}:{ev.size}"


def transport_code(exc: VenueError) -> str:
    """Reason code for a request the venue did not accept."""
    if exc.status == 429:
        return "EXEC_VENUE_RATE_LIMITED"
    if exc.status in (425, 500, 502, 503, 504):
        return "EXEC_VENUE_UNAVAILABLE"
    return "EXEC_REJECTED"


# -- reconciliation (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconcileInput:
    """What a reconciliation pass compares: the venue's open orders now, and which of our open
    orders were already missing on the previous pass."""

    venue_open: tuple[OpenOrderView, ...]
    suspects: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReconcileDiff:
    orphans: tuple[OpenOrderView, ...] = ()
    """Open at the venue, but no record of ours is open or in flight for that client id."""
    appeared: tuple[tuple[str, OpenOrderView], ...] = ()
    """We hold it as `submitted` (no ack seen); the venue has it resting."""
    short: tuple[tuple[str, Decimal], ...] = ()
    """Resting with less open size than we think (fills we have not seen): (id, venue filled)."""
    missing_suspect: tuple[str, ...] = ()
    """We think it open; the venue does not have it; first time seen missing."""
    missing_confirmed: tuple[str, ...] = ()
    """We think it open; missing on this pass and the previous one: resolved as cancelled."""

    @property
    def clean(self) -> bool:
        return not (self.orphans or self.appeared or self.short or self.missing_suspect
                    or self.missing_confirmed)

    def reason_code(self) -> str:
        if self.orphans:
            return "EXEC_ORPHAN_ORDER"
        return "EXEC_RECONCILED" if self.clean else "EXEC_RECONCILE_DIFF"

    def detail(self) -> dict[str, Any]:
        return {
            "orphans": [{"venue_order_id": o.venue_order_id,
                         "client_order_id": o.client_order_id, "token_id": o.token_id,
                         "side": o.side, "price": str(o.price), "remaining": str(o.remaining)}
                        for o in self.orphans],
            "appeared": [cid for cid, _ in self.appeared],
            "short": [{"client_order_id": cid, "venue_filled": str(f)} for cid, f in self.short],
            "missing_suspect": list(self.missing_suspect),
            "missing_confirmed": list(self.missing_confirmed),
        }


def reconcile_orders(
    ours: Sequence[OrderState], venue_open: Sequence[OpenOrderView], suspects: frozenset[str]
) -> ReconcileDiff:
    """Compare our orders with the venue's open orders. Pure: no I/O, no clock.

    `ours` may be every order or only the live ones (open or in flight): a venue order matching
    a finished one of ours is an orphan either way, and only open ones can be missing."""
    by_cid = {s.record.client_order_id: s.record for s in ours}
    venue_by_cid = {v.client_order_id: v for v in venue_open}
    orphans: list[OpenOrderView] = []
    appeared: list[tuple[str, OpenOrderView]] = []
    short: list[tuple[str, Decimal]] = []
    for view in venue_open:
        rec = by_cid.get(view.client_order_id)
        if rec is None or rec.status not in (OPEN_STATUSES | {"submitted"}):
            orphans.append(view)
        elif rec.status == "submitted":
            appeared.append((rec.client_order_id, view))
        else:
            venue_filled = view.original_size - view.remaining
            if venue_filled > rec.filled:
                short.append((rec.client_order_id, venue_filled))
    missing_suspect: list[str] = []
    missing_confirmed: list[str] = []
    for s in ours:
        rec = s.record
        if rec.status in OPEN_STATUSES and rec.client_order_id not in venue_by_cid:
            target = missing_confirmed if rec.client_order_id in suspects else missing_suspect
            target.append(rec.client_order_id)
    return ReconcileDiff(tuple(orphans), tuple(appeared), tuple(short), tuple(missing_suspect),
                         tuple(missing_confirmed))


class OrderLifecycleBot(Bot[ReconcileInput, Note]):
    """Registry/explain/health face of the OLM; its decision is the reconciliation verdict."""

    bot_id: ClassVar[str] = BOT_ID
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer] = Layer.EXECUTION
    bot_class: ClassVar[str] = "Execution Utility"
    authority: ClassVar[frozenset[Authority]] = frozenset({Authority.AMEND_CANCEL})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Param("stuck_order_timeout_s", 30, 60, 120, unit="s",
              doc="seconds in flight before an order counts as stuck"),
        Param("reconcile_interval_s", 10, 30, 60, unit="s",
              doc="seconds between full reconciliations against the venue"),
        Option("auto_cancel_orphans", True,
               doc="cancel venue orders that no internal record owns"),
    )
    reason_codes: ClassVar[tuple[str, ...]] = (
        "EXEC_ORDER_CREATED", "EXEC_ORDER_SIGNED", "EXEC_SUBMITTED", "EXEC_RESTING",
        "EXEC_PARTIAL_FILL_HANDLED", "EXEC_FILL", "EXEC_CANCEL_REQUESTED", "EXEC_CANCELLED",
        "EXEC_CANCEL_REJECTED", "EXEC_CANCEL_TIMEOUT", "EXEC_EXPIRED", "EXEC_REJECTED",
        "EXEC_VENUE_RATE_LIMITED", "EXEC_VENUE_UNAVAILABLE", "EXEC_STUCK_ORDER",
        "EXEC_ORPHAN_ORDER", "EXEC_ILLEGAL_TRANSITION", "EXEC_RECONCILED", "EXEC_RECONCILE_DIFF",
        "EXEC_SETTLEMENT_UPDATED", "EXEC_SETTLEMENT_CONFIRMED", "EXEC_SETTLEMENT_FAILED",
        "EXEC_DUPLICATE_SUPPRESSED", "EXEC_CANCEL_ALL", "EXEC_BAD_ENVELOPE",
        "EXEC_VENUE_ANOMALY", "RISK_KILLSWITCH_ACTIVE",
    )

    def decide(self, input: ReconcileInput, ctx: BotContext) -> Decision[Note]:
        orders = ctx.state.typed(OrdersProjection.name, OrdersProjection)
        diff = reconcile_orders(orders.live_states(), input.venue_open, input.suspects)
        detail = diff.detail()
        return Decision(Note(detail=detail), diff.reason_code(), detail)

    @property
    def stuck_timeout_ms(self) -> int:
        return self.config.integer("stuck_order_timeout_s") * 1000

    @property
    def reconcile_interval_ms(self) -> int:
        return self.config.integer("reconcile_interval_s") * 1000

    @property
    def auto_cancel_orphans(self) -> bool:
        return bool(self.config["auto_cancel_orphans"])


# -- the driver (side effects) ---------------------------------------------------------------


@dataclass(slots=True)
class _Transient:
    """Driver memory that is safe to lose on restart (it only delays or repeats a finding)."""

    last_reconcile_ms: int | None = None
    suspects: frozenset[str] = frozenset()
    stuck_flagged: set[tuple[str, int]] = field(default_factory=set)


class OrderLifecycleManager:
    """Performs the OLM's side effects; every one is preceded by a durable journal append."""

    def __init__(self, runtime: Runtime, venue: Venue, bot: OrderLifecycleBot) -> None:
        self._unjournaled: list[list[VenueEvent]] = []
        self._answers: list[list[VenueEvent]] = []  # cancel-all answers not yet journaled (see `cancel_all`)
        self.runtime = runtime
        self.venue = venue
        self.bot = bot
        try:
            bot.config  # noqa: B018 - raises if the bot was never initialised
        except RuntimeError:
            runtime.add_bot(bot)
        try:
            self.orders = runtime.state.typed(OrdersProjection.name, OrdersProjection)
        except KeyError:
            # A projection added now has seen nothing: fold the journal into it first.
            self.orders = OrdersProjection()
            for entry in runtime.journal.read(1, runtime.state.last_seq):
                self.orders.apply(entry)
            runtime.state.add(self.orders)
        self._t = _Transient()

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> int:
        return self.runtime.clock.now_ms()

    def _record(self, contract: Contract, code: str, corr: str | None, *,
                durable: bool = False) -> None:
        self.runtime.record(contract, actor=ACTOR, reason_code=code, correlation_id=corr,
                            durable=durable)

    def _note(self, reason_code: str, corr: str | None, /, *, durable: bool = False,
              **detail: Any) -> None:
        self._record(Note(detail=detail), reason_code, corr, durable=durable)

    def _corr(self, client_order_id: str) -> str | None:
        state = self.orders.state_of(client_order_id)
        return state.correlation_id if state else None

    def _transition(
        self,
        client_order_id: str,
        event: OrderEvent,
        code: str,
        *,
        filled: Decimal | None = None,
        venue_order_id: str | None = None,
        venue_error: str | None = None,
        durable: bool = False,
    ) -> bool:
        """Apply one table transition, or journal EXEC_ILLEGAL_TRANSITION and change nothing."""
        state = self.orders.state_of(client_order_id)
        if state is None:
            self._note("EXEC_ILLEGAL_TRANSITION", None, client_order_id=client_order_id,
                       status=None, event=event, attempted_reason_code=code)
            return False
        rec, corr = state.record, state.correlation_id
        new_status = next_status(rec.status, event, filled=rec.filled)
        if new_status is None:
            self._note("EXEC_ILLEGAL_TRANSITION", corr, client_order_id=client_order_id,
                       status=rec.status, event=event, attempted_reason_code=code)
            return False
        updated = self._moved(rec, new_status, filled, venue_order_id, venue_error)
        if updated is None:
            return True  # a repeated fact (late ack after reconciliation): nothing to record
        self._record(updated, code, corr, durable=durable)
        return True

    @staticmethod
    def _moved(rec: OrderRecord, new_status: OrderStatus, filled: Decimal | None = None,
               venue_order_id: str | None = None, venue_error: str | None = None) -> OrderRecord | None:
        """The record after a legal move to `new_status`, or None when nothing changes."""
        # the values read from the instance dict: a pydantic model's attribute read goes through
        # its `__getattr__` hook, and every transition reads these
        f = rec.__dict__
        old = (f["filled"], f["venue_order_id"], f["venue_error"])
        new_filled = old[0] if filled is None else max(old[0], filled)
        new_venue_id = venue_order_id or old[1]
        new_error = venue_error if venue_error is not None else old[2]
        if (new_filled, new_venue_id, new_error) == old:
            if new_status == f["status"]:
                return None
            # only the status moved, along the transition table: every value is one already
            # validated (the record's own, or a table status), so no second validation; a cancel
            # ack, the common case on the trip path, is one of these
            return _with_status(rec, new_status)
        # a value from the venue: validate it (the record's other values already are)
        return moved_record(rec, new_status, new_filled, new_venue_id, new_error)

    # -- submit ----------------------------------------------------------------------------

    def submit(
        self, signed: SignedOrderRequest, planned: PlannedOrder, intent: OrderIntent
    ) -> OrderRecord:
        self.journal_answers()
        # the contracts' values read from their dicts: a pydantic model's attribute read goes
        # through its `__getattr__` hook, and every order reads some thirty of them here
        p, i, s = planned.__dict__, intent.__dict__, signed.__dict__
        cid = p["client_order_id"]
        corr = i["correlation_id"]
        existing = self.orders.order(cid)
        if existing is not None:
            self._note("EXEC_DUPLICATE_SUPPRESSED", corr, client_order_id=cid,
                       status=existing.status, intent_id=i["intent_id"])
            return existing
        record = order_record({
            "client_order_id": cid, "venue_order_id": None, "intent_id": i["intent_id"],
            "strategy_id": i["strategy_id"], "market_id": i["market_id"],
            "token_id": p["token_id"], "side": p["side"], "price": p["price"],
            "size": p["size"], "filled": Decimal(0), "order_type": p["order_type"],
            "status": "created", "previous": None, "venue_error": None,
        })
        self._record(record, "EXEC_ORDER_CREATED", corr)
        refusal = self._refusal(signed, planned, intent)
        if refusal is not None:
            code, error = refusal
            self._transition(cid, "reject", code, venue_error=error)
            return self._current(cid)
        self._transition(cid, "signed", "EXEC_ORDER_SIGNED")
        # Polymarket's order id is the EIP-712 hash, so it is known before sending; recording it
        # now lets a cancel or a restart find the order even if the ack is never seen.
        self._transition(cid, "submitted", "EXEC_SUBMITTED", venue_order_id=s["order_hash"],
                         durable=True)
        order = VenueOrder(
            client_order_id=cid, token_id=p["token_id"], side=p["side"],
            price=p["price"], size=p["size"], order_type=p["order_type"],
            post_only=p["post_only"],
            # The venue reads the *wire* expiration (plan expiry + the CLOB's 60 s security
            # threshold, set by the signer) and retires the order 60 s before it; sending the
            # planned expiry here made a 90 s order die after 30 s.
            expires_at_ms=s["expiration_s"] * 1000 if p["order_type"] == "GTD" else None,
            order_hash=s["order_hash"],
            maker_amount=s["maker_amount"], taker_amount=s["taker_amount"],
            signed=signed,
        )
        try:
            events = self.venue.submit(order, self._now())
        except VenueError as exc:
            self._transition(cid, "reject", transport_code(exc),
                             venue_error=f"{exc.status} {exc.code}")
            return self._current(cid)
        except OutcomeUnknown as exc:
            # Sent, unanswered: the order may be live.  It stays `submitted` (never a reject);
            # the stuck-order check and reconciliation adopt it or retire it.
            self._note("EXEC_VENUE_UNAVAILABLE", corr, client_order_id=cid, op="submit",
                       outcome="UNKNOWN", status=exc.status, venue_order_id=exc.venue_order_id)
            return self._current(cid)
        except Exception as exc:  # noqa: BLE001 - outcome unknown: leave it to reconciliation
            self._note("EXEC_VENUE_UNAVAILABLE", corr, client_order_id=cid, op="submit",
                       error=type(exc).__name__, message=str(exc)[:200])
            return self._current(cid)
        self._on_events(events)
        return self._current(cid)

    def _current(self, cid: str) -> OrderRecord:
        rec = self.orders.order(cid)
        assert rec is not None
        return rec

    def _refusal(
        self, signed: SignedOrderRequest, planned: PlannedOrder, intent: OrderIntent
    ) -> tuple[str, str] | None:
        """Fail closed before anything is sent: the signature must be for this planned order,
        and no kill-switch trip may cover the strategy."""
        s, p, i = signed.__dict__, planned.__dict__, intent.__dict__  # (see `submit`)
        mismatch = (
            s["client_order_id"] != p["client_order_id"]
            or s["token_id"] != p["token_id"]
            or s["side"] != p["side"]
            or s["order_type"] != p["order_type"]
            or p["token_id"] != i["token_id"]
        )
        if mismatch:
            return "EXEC_BAD_ENVELOPE", "SIGNED_ORDER_MISMATCH"
        trip = self.runtime.kill_switch.trip_covering(
            strategy_id=i["strategy_id"], cluster="", bot_id=i["strategy_id"],
            market_id=i["market_id"])
        if trip is not None:
            return "RISK_KILLSWITCH_ACTIVE", f"KILL_SWITCH:{trip.trip_id}"
        return None

    # -- venue events ----------------------------------------------------------------------

    def on_venue_events(self, events: list[VenueEvent]) -> None:
        self.journal_answers()  # the venue answered those first
        self._on_events(events)

    def _on_events(self, events: list[VenueEvent]) -> None:
        for ev in events:
            try:
                self._on_event(ev)
            except Exception as exc:  # noqa: BLE001 - bad data must never stop the event loop
                # Last line of defence behind check_event: whatever slipped past it is still an
                # impossible event, so it is journaled and trips its market like the others.
                self._anomaly(ev, None, Anomaly("event", "unhandled", type(exc).__name__,
                                                "an event the OLM can apply"))

    def _owner(self, ev: VenueEvent) -> OrderRecord | None:
        rec = self.orders.order(ev.client_order_id) if ev.client_order_id else None
        if rec is None and ev.venue_order_id:
            rec = self.orders.by_venue_id(ev.venue_order_id)
        return rec

    def _on_event(self, ev: VenueEvent) -> None:
        rec = self._owner(ev)
        problem = self._check(ev, rec)
        if problem is not None:
            self._anomaly(ev, rec, problem)
            return
        if rec is None:
            self._unowned_event(ev)
            return
        cid = rec.client_order_id
        if ev.kind == "ack":
            self._transition(cid, "ack", "EXEC_RESTING", venue_order_id=ev.venue_order_id)
        elif ev.kind == "fill":
            self._on_fill(rec, ev)
        elif ev.kind == "cancel":
            self._transition(cid, "cancel_confirmed", "EXEC_CANCELLED",
                             venue_error=ev.error_code)
        elif ev.kind == "expire":
            self._transition(cid, "expire", "EXEC_EXPIRED")
        elif ev.kind == "reject":
            self._on_reject(rec, ev)
        elif ev.kind == "trade_status":
            self._on_trade_status(rec, ev)

    def _records_fill(self, ev: VenueEvent, rec: OrderRecord | None) -> bool:
        """Would applying `ev` put a new fill into positions? (Repeats and settlement updates of
        a known trade do not, so they are not held to the order's open size.)"""
        if ev.kind == "fill":
            if rec is None or (ev.trade_id is not None and not isinstance(ev.trade_id, str)):
                return True  # nothing to deduplicate against: held to every fill rule
            return self.orders.fill(_trade_key(ev), rec.client_order_id) is None
        if ev.kind == "trade_status" and ev.size is not None and isinstance(ev.trade_id, str):
            return rec is None or self.orders.fill(ev.trade_id, rec.client_order_id) is None
        return False

    def _check(self, ev: VenueEvent, rec: OrderRecord | None) -> Anomaly | None:
        records_fill = self._records_fill(ev, rec)
        if rec is None and not records_fill:
            return None  # an orphan ack/cancel/expire/reject: reconciliation's business
        # the open size (a sum over the order's fills) is read only for an event that records a
        # fill: an ack, a cancel or a settlement update is checked without it
        open_size = (rec.size - self.orders.filled_by_fills(rec.client_order_id)
                     if rec is not None and records_fill else _NO_SIZE)
        return check_event(ev, rec, open_size, records_fill=records_fill)

    def _anomaly(self, ev: VenueEvent, rec: OrderRecord | None, problem: Anomaly) -> None:
        """Journal an impossible event (durably: the kill-switch trip and its cancels follow)."""
        token_id = getattr(ev, "token_id", "")
        market_id = rec.market_id if rec is not None else self._market_of(token_id)
        self._note(VENUE_ANOMALY, self._corr(rec.client_order_id) if rec is not None else None,
                   durable=True, market_id=market_id,
                   client_order_id=observed_text(rec.client_order_id if rec else getattr(ev, "client_order_id", "")),
                   venue_order_id=observed_text(getattr(ev, "venue_order_id", "")),
                   token_id=observed_text(token_id), event=observed_text(getattr(ev, "kind", "")),
                   trade_id=observed_text(getattr(ev, "trade_id", None)), field=problem.field,
                   rule=problem.rule, observed=problem.observed, limit=problem.limit)

    def _market_of(self, token_id: object) -> str:
        """The market of a token we have seen, else "" (the kill switch then trips globally)."""
        markets = self.runtime.state.find(MarketsProjection.name)
        if not isinstance(markets, MarketsProjection) or not isinstance(token_id, str):
            return ""
        return markets.market_id_of_token(token_id) or ""

    def _unowned_event(self, ev: VenueEvent) -> None:
        detail: dict[str, Any] = {"event": ev.kind, "venue_order_id": ev.venue_order_id,
                  "client_order_id": ev.client_order_id, "token_id": ev.token_id,
                  "error_code": ev.error_code, "trade_id": ev.trade_id,
                  "size": str(ev.size) if ev.size is not None else None}
        if ev.kind == "cancel":
            self._note("EXEC_CANCELLED", None, orphan=True, **detail)
        elif ev.kind == "reject":
            self._note("EXEC_CANCEL_REJECTED", None, orphan=True, **detail)
        else:
            self._note("EXEC_ORPHAN_ORDER", None, **detail)

    def _on_fill(self, rec: OrderRecord, ev: VenueEvent) -> None:
        r = rec.__dict__  # (see `submit`)
        cid = r["client_order_id"]
        trade_id = _trade_key(ev)
        if self.orders.fill(trade_id, cid) is not None:
            return  # the same trade reported twice: money must be counted once
        size = ev.size or Decimal(0)
        if ev.remaining is not None:
            filled = r["size"] - ev.remaining
            complete = ev.remaining <= 0
        else:
            # `rec.filled` may already count fills we never saw (taken from an earlier
            # `remaining`), so adding this one could pass the order's size: cap it there.
            filled = min(r["size"], r["filled"] + size)
            complete = filled >= r["size"]
        code = "EXEC_FILL" if complete else "EXEC_PARTIAL_FILL_HANDLED"
        if size > 0:
            # Journaled whatever the order's state: a trade happened, accounting must see it.
            fill = fill_record({
                "trade_id": trade_id, "client_order_id": cid, "market_id": r["market_id"],
                "token_id": r["token_id"], "side": ev.side or r["side"], "price": ev.price or r["price"],
                "size": size, "fee_pusd": ev.fee or Decimal(0), "liquidity": ev.liquidity or "taker",
                "settlement": ev.trade_status or "MATCHED", "ts_ms": ev.ts_ms,
            })
            self._record(fill, code, self._corr(cid))
        event: OrderEvent = "fill" if complete else "partial_fill"
        self._transition(cid, event, code, filled=filled)

    def _on_reject(self, rec: OrderRecord, ev: VenueEvent) -> None:
        cid = rec.client_order_id
        code = ev.error_code or "UNKNOWN"
        if rec.status == "cancel_pending":
            if code == CANCEL_ALREADY_CANCELED:
                self._transition(cid, "cancel_confirmed", "EXEC_CANCELLED", venue_error=code)
            else:
                self._transition(cid, "cancel_rejected", "EXEC_CANCEL_REJECTED",
                                 venue_error=code)
        elif code == INVALID_ORDER_DUPLICATED and rec.status == "submitted":
            # The venue already holds this order (our earlier send got through): an ack.
            self._transition(cid, "ack", "EXEC_RESTING",
                             venue_order_id=ev.venue_order_id or None)
        elif code in _CANCEL_REFUSALS:
            self._note("EXEC_CANCEL_REJECTED", self._corr(cid), client_order_id=cid,
                       status=rec.status, error_code=code)
        else:
            self._transition(cid, "reject", "EXEC_REJECTED", venue_error=code)

    def _on_trade_status(self, rec: OrderRecord, ev: VenueEvent) -> None:
        cid = rec.client_order_id
        status = ev.trade_status
        if status is None or ev.trade_id is None:
            self._note("EXEC_ILLEGAL_TRANSITION", self._corr(cid), client_order_id=cid,
                       axis="settlement", event="trade_status", problem="no status or trade id")
            return
        known = self.orders.fill(ev.trade_id, cid)
        if known is None:
            # A settlement update for a match we never saw (lost while down): record the trade.
            if ev.size is None or ev.size <= 0:
                return
            fill = fill_record({
                "trade_id": ev.trade_id, "client_order_id": cid, "market_id": rec.market_id,
                "token_id": rec.token_id, "side": ev.side or rec.side, "price": ev.price or rec.price,
                "size": ev.size, "fee_pusd": ev.fee or Decimal(0), "liquidity": ev.liquidity or "taker",
                "settlement": status, "ts_ms": ev.ts_ms,
            })
            self._record(fill, _SETTLEMENT_CODE[status], self._corr(cid))
            return
        if known.settlement == status:
            return
        if not settlement_allowed(known.settlement, status):
            self._note("EXEC_ILLEGAL_TRANSITION", self._corr(cid), client_order_id=cid,
                       axis="settlement", trade_id=ev.trade_id, status=known.settlement,
                       event=status)
            return
        updated = settled_fill(known, status)  # a status of the table: the record's values stay
        self._record(updated, _SETTLEMENT_CODE[status], self._corr(cid))

    # -- cancels ---------------------------------------------------------------------------

    def cancel(self, client_order_id: str, reason_code: str = "EXEC_CANCEL_REQUESTED") -> None:
        self.journal_answers()
        rec = self.orders.order(client_order_id)
        if not self._transition(client_order_id, "cancel_requested", reason_code, durable=True):
            return
        assert rec is not None
        venue_id = rec.venue_order_id
        if not venue_id:
            return  # not yet known at the venue: the ack or reconciliation resolves it
        try:
            events = self.venue.cancel(venue_id, self._now())
        except VenueError as exc:
            self._transition(client_order_id, "cancel_rejected", transport_code(exc),
                             venue_error=f"{exc.status} {exc.code}")
            return
        self._on_events(events)

    def cancel_all(self, token_ids: frozenset[str] | None = None, *, reason: str = "",
                   answer_later: bool = False) -> int:
        """Cancel every order (of `token_ids`), journaling the request durably first; returns
        how many the venue cancelled. With `answer_later` (the kill switch's protective action)
        the venue's answer is held and journaled by `journal_answers`, which every other entry
        point of the OLM and the guardian's next safe point call first: protection is the
        request leaving, and the strategies' halt and the next intent's rejection do not wait
        for the bookkeeping of up to hundreds of cancelled orders. Until then the orders read as
        still open (what they were before the answer: the conservative reading of reserved
        pUSD); a crash before it leaves the reconciler to find them cancelled at the venue."""
        self.journal_answers()
        # live orders only (open and in flight, in the order every order would be visited):
        # on the trip path, a scan of every order ever seen grows all day
        affected = [
            r.client_order_id for r in (s.record for s in self.orders.live_states())
            if (r.status in OPEN_STATUSES or r.status == "submitted")
            and (token_ids is None or r.token_id in token_ids)
        ]
        self._note("EXEC_CANCEL_ALL", None, durable=True,
                   token_ids=sorted(token_ids) if token_ids is not None else None,
                   reason=reason, orders=affected)
        try:
            events = self.venue.cancel_all(token_ids, self._now())
        except VenueError as exc:
            self._note(transport_code(exc), None, op="cancel_all", status=exc.status,
                       code=exc.code)
            return 0
        if answer_later:
            self._answers.append(events)
        else:
            self.on_cancel_all_answer(events)
        return sum(1 for ev in events if ev.kind == "cancel")

    @property
    def answers_held(self) -> bool:
        """A cancel-all's answer is waiting for `journal_answers`."""
        return bool(self._answers)

    def journal_answers(self) -> None:
        """Journal the held cancel-all answers (see `cancel_all`), in the order they came. One
        is let go only once journaled: a write failure keeps it for the next call."""
        while self._answers:
            self.on_cancel_all_answer(self._answers[0])
            self._answers.pop(0)

    def on_cancel_all_answer(self, events: list[VenueEvent]) -> None:
        """The venue's answer to a cancel-all, which Polymarket gives as one message: the orders
        it cancelled out of a resting state are journaled together as one `OrderBatch` (one
        envelope, one fold, one trigger check, instead of one of each per order). Every other
        event (a refusal, an in-flight order's cancel, anything `_check` or the transition table
        refuses) takes the general path on its own, in the venue's order, after the batch so
        far is journaled, so each event meets the state the events before it left."""
        batch: list[BatchedOrderRecord] = []
        batched: set[str] = set()
        for ev in events:
            item = self._batched_cancel(ev, batched)
            if item is not None:
                batch.append(item)
                batched.add(item.record.client_order_id)
                continue
            self._record_batch(batch)
            batched.clear()
            self._on_events([ev])
        self._record_batch(batch)

    def _batched_cancel(self, ev: VenueEvent, batched: set[str]) -> BatchedOrderRecord | None:
        """What `_on_event` would journal for `ev` on its own, when that is a resting order's
        cancel confirmation (not an answer to a submission, so the reject rate's inputs do not
        move inside the batch); else None and the event takes the general path."""
        try:
            if ev.kind != "cancel":
                return None
            rec = self._owner(ev)
            # `_check(ev, rec)` for a cancel of an order we own: it records no fill, so the
            # open size (a sum over the order's fills) is never read
            if rec is None or rec.status not in OPEN_STATUSES \
                    or check_event(ev, rec, _NO_SIZE, records_fill=False) is not None:
                return None
            cid = rec.client_order_id
            if cid in batched:
                return None  # a second answer for one order meets the first one's result
            new_status = next_status(rec.status, "cancel_confirmed", filled=rec.filled)
            updated = None if new_status is None else self._moved(rec, new_status, venue_error=ev.error_code)
        except Exception:  # noqa: BLE001 - the general path journals what is wrong with it
            return None
        if updated is None:
            return None
        return BatchedOrderRecord.of(updated, "EXEC_CANCELLED", self._corr(cid))

    def _record_batch(self, batch: list[BatchedOrderRecord]) -> None:
        if batch:
            self._record(OrderBatch.trusted(cause="cancel_all", records=tuple(batch)), "EXEC_CANCELLED", None)
            batch.clear()

    def emergency_cancel_all(self, reason: str) -> int:
        """Cancel everything even when the journal cannot be written: the one exception to
        write-ahead. The venue's answers are kept and journaled by `journal_unwritten`."""
        from polytraders.journal.sqlite import JournalWriteError

        try:
            return self.cancel_all(None, reason=reason)
        except JournalWriteError:
            pass
        try:
            self._unjournaled.append(self.venue.cancel_all(None, self._now()))
        except VenueError:
            return 0
        return sum(1 for ev in self._unjournaled[-1] if ev.kind == "cancel")

    def journal_unwritten(self) -> None:
        """Journal the cancels that went out before their envelope, once the journal works."""
        while self._unjournaled:
            events = self._unjournaled[0]
            self._note("EXEC_CANCEL_ALL", None, durable=True, token_ids=None, orders=[],
                       reason="sent before its envelope: the journal could not be written")
            self._unjournaled.pop(0)
            self.on_cancel_all_answer(events)

    # -- timers ----------------------------------------------------------------------------

    def request_reconcile(self) -> None:
        """Reconcile with the venue at the next tick (e.g. after venue events were consumed in a
        batch that failed to commit)."""
        self._t.last_reconcile_ms = None

    def tick(self, now_ms: int) -> None:
        self.journal_answers()
        timeout = self.bot.stuck_timeout_ms
        stuck = [
            s for s in self.orders.in_flight_states()
            if now_ms - s.since_ms >= timeout
            and (s.record.client_order_id, s.since_ms) not in self._t.stuck_flagged
        ]
        if stuck:
            venue_open = self._venue_open()
            for s in stuck:
                rec = s.record
                self._t.stuck_flagged.add((rec.client_order_id, s.since_ms))
                self._note("EXEC_STUCK_ORDER", s.correlation_id,
                           client_order_id=rec.client_order_id, status=rec.status,
                           age_ms=now_ms - s.since_ms, timeout_ms=timeout)
                if venue_open is not None:
                    self._resolve_stuck(rec, venue_open)
        last = self._t.last_reconcile_ms
        if last is None or now_ms - last >= self.bot.reconcile_interval_ms:
            self._t.last_reconcile_ms = now_ms
            self.reconcile()

    def _venue_open(self) -> tuple[OpenOrderView, ...] | None:
        try:
            return tuple(self.venue.open_orders())
        except VenueError as exc:
            self._note(transport_code(exc), None, op="open_orders", status=exc.status,
                       code=exc.code)
            return None

    def _resolve_stuck(self, rec: OrderRecord, venue_open: tuple[OpenOrderView, ...]) -> None:
        cid = rec.client_order_id
        view = next((v for v in venue_open if v.client_order_id == cid), None)
        if rec.status in ("created", "signed"):
            # Write-ahead: nothing is sent before `submitted` is journaled, so it never left.
            self._transition(cid, "reject", "EXEC_RECONCILE_DIFF", venue_error=NEVER_SUBMITTED)
        elif rec.status == "submitted":
            if view is None:
                self._transition(cid, "reject", "EXEC_RECONCILE_DIFF",
                                 venue_error=INFLIGHT_TIMEOUT)
            else:
                self._adopt(cid, view)
        elif rec.status == "cancel_pending":
            if view is None:
                self._transition(cid, "cancel_confirmed", "EXEC_RECONCILE_DIFF")
            else:
                self._transition(cid, "cancel_timeout", "EXEC_CANCEL_TIMEOUT")

    def _adopt(self, cid: str, view: OpenOrderView) -> None:
        """The venue holds an order we only knew as submitted: take its ack and fill level."""
        self._transition(cid, "ack", "EXEC_RECONCILE_DIFF", venue_order_id=view.venue_order_id)
        venue_filled = view.original_size - view.remaining
        if venue_filled > 0:
            self._transition(cid, "partial_fill", "EXEC_RECONCILE_DIFF", filled=venue_filled)

    def reconcile(self) -> None:
        """One full pass: the bot's verdict is journaled (and flushed) before any cancel."""
        self.journal_answers()
        venue_open = self._venue_open()
        if venue_open is None:
            return
        outcome = self.runtime.decide(self.bot, ReconcileInput(venue_open, self._t.suspects))
        if outcome.effective is None:
            return  # shadow/advisory/off: the verdict is recorded, nothing is acted on
        diff = reconcile_orders(self.orders.live_states(), venue_open, self._t.suspects)
        self.runtime.journal.flush()
        for cid, view in diff.appeared:
            self._adopt(cid, view)
        for cid, venue_filled in diff.short:
            self._transition(cid, "partial_fill", "EXEC_RECONCILE_DIFF", filled=venue_filled)
        for cid in diff.missing_confirmed:
            self._transition(cid, "cancel_confirmed", "EXEC_RECONCILE_DIFF")
        self._t.suspects = frozenset(diff.missing_suspect)
        if self.bot.auto_cancel_orphans:
            for view in diff.orphans:
                try:
                    events = self.venue.cancel(view.venue_order_id, self._now())
                except VenueError as exc:
                    self._note(transport_code(exc), None, op="cancel_orphan",
                               venue_order_id=view.venue_order_id, status=exc.status)
                    continue
                for ev in events:
                    if ev.kind == "cancel" and ev.venue_order_id == view.venue_order_id:
                        # Expected: it may name a record of ours that is already terminal.
                        self._note("EXEC_CANCELLED", None, orphan=True,
                                   venue_order_id=ev.venue_order_id,
                                   client_order_id=ev.client_order_id, token_id=ev.token_id)
                    else:
                        self._on_event(ev)

    # -- views -----------------------------------------------------------------------------

    def in_flight(self) -> list[OrderRecord]:
        return self.orders.in_flight()

    def reject_rate(self, window_ms: int) -> tuple[int, int]:
        return self.orders.reject_rate(self._now(), window_ms)
