"""The guardian: after every journaled input, ask the kill switch whether a trigger holds;
when the switch trips (automatically or by hand, in this process or another), cancel resting
orders in scope. Trade-authority bots in scope are halted by the trip itself: their mode is
derived from the active trips the moment a trip is folded, and comes back when it is reset
(`state/modes.py`, `Runtime._apply_mode`), so no hold is journaled on a trip or released on a
reset. Kill-switch holds journaled before that are still released here when their trip is reset.

Trips are journaled (durably) before any cancel is sent: the protective side effect never
overtakes the envelope that caused it. The one exception is an external halt the runtime has
already obeyed in memory (a halt file, or tampering found in the journal): protection comes
first, even when the journal cannot be written, and the trip is journaled as soon as it can be.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polytraders.bots.risk.kill_switch import KillSwitch, TriggerCheck
from polytraders.contracts import KillSwitchEvent, Scope
from polytraders.journal.base import JournalEntry
from polytraders.journal.sqlite import JournalWriteError
from polytraders.runtime.runner import SYSTEM, Runtime
from polytraders.state.kill_switch import ActiveTrip
from polytraders.state.modes import KILL_SWITCH_SOURCE, ModesProjection

if TYPE_CHECKING:
    from polytraders.state.markets import MarketsProjection
    from polytraders.state.orders import OrdersProjection

HOLD_SOURCE = KILL_SWITCH_SOURCE  # older journals' kill-switch holds
INPUT_KINDS = frozenset({"order_book", "market_snapshot", "fill", "order_record", "gov_reconcile"})
# Notes that are inputs to the kill switch, by the input kind they count as.
INPUT_NOTES = {"GOV_WALLET_BALANCE": "wallet", "EXEC_VENUE_ANOMALY": "venue_anomaly"}


# entry kind -> its input class; a note's class is its reason code's (INPUT_NOTES). A cancel-all's
# order_batch is one venue answer's order records: checked once, after all of them.
_INPUT_BY_KIND: dict[str, str] = {**{kind: kind for kind in INPUT_KINDS}, "order_batch": "order_record"}


def input_kind(entry: JournalEntry) -> str | None:
    """The input class of an entry for trigger checks, or None when it is not an input."""
    env = entry.envelope
    kind = env.kind
    found = _INPUT_BY_KIND.get(kind)
    if found is not None:
        return found
    if kind == "note":
        return INPUT_NOTES.get(env.reason_code)
    return None


class Guardian:
    def __init__(self, runtime: Runtime, kill_switch: KillSwitch, olm: Any,
                 after_trip: Callable[[JournalEntry], Any] | None = None) -> None:
        self.rt = runtime
        self.ks = kill_switch
        self.olm = olm
        self.after_trip = after_trip  # the incident commander, once protection is done
        self.pending_trips: list[JournalEntry] = []
        self.tampering: list[dict[str, Any]] = []  # problems to journal
        self._externally_protected = False
        self._protected: set[str] = set()  # trips whose cancels and halts are done
        runtime.listeners.append(self.on_entry)
        runtime.tamper_listeners.append(self.tampering.append)

    def on_entry(self, entry: JournalEntry) -> None:
        env = entry.envelope
        entry_kind = env.kind
        if entry_kind == "killswitch_event":
            if env.payload["event"] == "tripped":
                self.pending_trips.append(entry)  # for the incident; protection follows the state
            return
        # `input_kind(entry)`, written out: this runs after every entry
        kind = _INPUT_BY_KIND.get(entry_kind)
        if kind is None and entry_kind == "note":
            kind = INPUT_NOTES.get(env.reason_code)
        if kind is not None:
            rt = self.rt
            for breach in self.ks.check_triggers(rt.state, rt.clock.now_ms(), entry.seq, kind):
                rt.decide(self.ks, TriggerCheck(breach), correlation_id=f"ks_{entry.seq}")

    def act(self) -> None:
        """Run pending protective actions; called by the engine at safe points."""
        self._external_halt()  # first journals what the last protection left (`_journal_later`)
        # Protection follows the kill switch's state, not the events that changed it: a trip
        # folded while the journal could not be written, or active when this process started,
        # is protected all the same. Protective actions first; the incident follows, once the
        # venue's answers to them are journaled (at the next safe point), so that its picture
        # of the state after the remedy shows the orders cancelled.
        for trip in list(self.rt.kill_switch.active.values()):
            if trip.trip_id not in self._protected:
                self._protect(trip)
                self._protected.add(trip.trip_id)
        if getattr(self.olm, "answers_held", False):
            self._restore()
            return
        while self.pending_trips:
            if self.after_trip is not None:
                self.after_trip(self.pending_trips[0])
            self.pending_trips.pop(0)
        self._restore()

    def settle(self) -> None:
        """`act`, and then what it left for the next safe point (the venue's answers and the
        incident): where no further safe point follows, as when the system stops."""
        self.act()
        self.act()

    def _external_halt(self) -> None:
        ks = self.rt.kill_switch
        reason = ks.external_halt
        if reason is None:
            self._journal_later()
            return
        if not self._externally_protected:
            self._externally_protected = True
            self.olm.emergency_cancel_all(reason)
            # the halt is obeyed in memory first (the journal may be unwritable): the Trade bots'
            # modes are derived from it as from the journaled trip that follows
            self.rt.apply_trade_modes()
        try:
            self._journal_later()
            for problem in self.tampering:
                self.rt.note("GOV_JOURNAL_TAMPERED", durable=True, tampered_seq=problem["seq"],
                             verdict=problem["verdict"], problem=problem["reason"], entry_kind=problem["kind"],
                             entry_reason_code=problem["reason_code"], entry_actor=problem["actor"])
            self.tampering.clear()
            trigger = "halt_file" if reason.startswith("halt file") else "journal_tampering"
            seq = self.rt.journal.begin() + 1
            self.rt.record(KillSwitchEvent(event="tripped", trip_id=f"ks_{seq}_{trigger}", trigger=trigger,
                                           scope=Scope(scope="global", value="*"), observed=Decimal(1),
                                           threshold=Decimal(1), at_ms=self.rt.clock.now_ms(),
                                           detail={"reason": reason[:200]}),
                           actor=SYSTEM, reason_code="RISK_KILLSWITCH_TRIPPED", durable=True)
        except JournalWriteError:
            self.rt.recover_from_write_failure()
            return  # still halted in memory; try again at the next safe point
        ks.external_halt = None
        self._externally_protected = False

    def _journal_later(self) -> None:
        """Journal what the last protective action left for a safe point: cancels sent while the
        journal could not be written, then the venue's answers to cancel-alls (`_protect`)."""
        for held in ("journal_unwritten", "journal_answers"):
            journal_held = getattr(self.olm, held, None)
            if journal_held is not None:
                journal_held()

    def _protect(self, trip: ActiveTrip) -> None:
        # The trip must be durable before any cancel leaves. A cancel-all's own write-ahead note
        # is durable and commits the trip with it (one commit, not two); the per-order cancels
        # below commit only when there is an order to cancel, so for them the trip is committed
        # here first.
        markets: MarketsProjection = self.rt.state.get("markets")  # type: ignore[assignment]
        orders: OrdersProjection = self.rt.state.get("orders")  # type: ignore[assignment]
        market = markets.market(trip.scope_value) if trip.scope == "market" else None
        # The venue's answer to a cancel-all is journaled at the next safe point (or the OLM's
        # next call), not here: protection is the request leaving (the halt came with the trip).
        if trip.scope == "global":
            self.olm.cancel_all(None, reason=f"kill switch {trip.trip_id}", answer_later=True)
        elif market is not None:
            # One venue call for the market's two tokens also catches orders still in flight
            # (submitted, not yet acked), which the loop below over open orders would miss.
            self.olm.cancel_all(frozenset({market.yes_token, market.no_token}),
                                reason=f"kill switch {trip.trip_id}", answer_later=True)
        else:
            self.rt.journal.flush()
            for order in orders.open_orders():
                cluster = markets.cluster_of(order.market_id) or ""
                if trip.covers(strategy_id=order.strategy_id, cluster=cluster, bot_id=order.strategy_id,
                               market_id=order.market_id):
                    self.olm.cancel(order.client_order_id)

    def _held(self, bot_id: str) -> bool:
        modes = self.rt.state.find("modes")
        return isinstance(modes, ModesProjection) and HOLD_SOURCE in modes.holds_of(bot_id)

    def _restore(self) -> None:
        """Release a kill-switch hold journaled by an older version (before the halt was derived
        from the trips) on every bot no active trip covers any more; other sources' holds (a
        playbook's demotion, an operator's) stay."""
        ks = self.rt.kill_switch
        if ks.external_halt is not None or any(t.scope == "global" for t in ks.active.values()):
            return  # a global trip (or a halt) covers every bot: nothing to release
        modes = self.rt.state.find("modes")
        if not isinstance(modes, ModesProjection) or not any(HOLD_SOURCE in h for h in modes.holds.values()):
            return  # no bot holds a kill-switch hold (the usual case, asked at every safe point)
        for bot_id in self.rt.bots:
            if self._held(bot_id) and self.rt.kill_switch.trip_covering(
                    strategy_id=bot_id, cluster="", bot_id=bot_id) is None:
                self.rt.release_hold(bot_id, HOLD_SOURCE, reason="kill switch reset")
