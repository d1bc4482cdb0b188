"""The internal ledger the on-chain reconciler compares, and the reconcile state the kill switch
reads, as one projection (`reconcile`).

Ledger (what the chain should hold for the funder), per item ("pusd" or an outcome token id):
- fills that reached CONFIRMED: shares +size on a BUY, -size on a SELL; pUSD -size*price - fee
  on a BUY, +size*price - fee on a SELL. A trade counts once, the first time it is CONFIRMED;
- explicit transfers (`chain_transfer`): deposits add, withdrawals subtract;
- by-hand adjustments (`reconcile_adjustment`), only once a second operator approved them.
In flight, not in the ledger: trades still MATCHED, MINED or RETRYING (they may or may not be
on chain yet); trades confirmed and transfers booked less than the reconciler's grace ago are
in the ledger but the chain may not show them at our confirmation depth yet, so they widen the
accepted band the other way. FAILED trades count for nothing.

Reconcile state: a `GOV_RECONCILE_MISMATCH` report sets `mismatched` (the kill switch's
`reconcile_mismatch` condition) and keeps the divergence record. It clears only when all three
happen in order: an operator records a by-hand reconciliation, a second operator approves it
(separation of duties by the trust projection), and a later `GOV_RECONCILE_OK` matches. A match
alone never clears it: someone must explain what happened.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytraders.journal.base import JournalEntry
from polytraders.state.trust import SYSTEM_SIGNER, TrustProjection

ZERO = Decimal(0)
PUSD = "pusd"
IN_FLIGHT = frozenset({"MATCHED", "MINED", "RETRYING"})
RECENT_KEEP_MS = 3_600_000  # confirmed trades older than this are never inside any sane grace
APPROVED_CODE = "GOV_RECONCILE_ADJUSTMENT_APPROVED"
RECORDED_CODE = "GOV_RECONCILE_ADJUSTMENT_RECORDED"


@dataclass(frozen=True, slots=True)
class Band:
    """An item's ledger value and how far in-flight trades may move the chain from it."""

    internal: Decimal
    low: Decimal  # the most in-flight trades may take away (<= 0)
    high: Decimal  # the most they may add (>= 0)

    @property
    def in_flight(self) -> Decimal:
        return self.low + self.high


def _deltas(trade: dict[str, str]) -> tuple[Decimal, Decimal]:
    """(shares, pUSD) change of one trade for the funder."""
    size, price, fee = Decimal(trade["size"]), Decimal(trade["price"]), Decimal(trade["fee"])
    qty = size if trade["side"] == "BUY" else -size
    return qty, -qty * price - fee


class ReconcileProjection:
    name = "reconcile"
    relevant = (frozenset({"fill", "chain_transfer", "chain_read", "reconcile_adjustment", "gov_reconcile"}),
                frozenset({APPROVED_CODE}))  # what apply reads

    def __init__(self, trust: TrustProjection | None = None) -> None:
        self.trust = trust
        self.confirmed: dict[str, Decimal] = {}  # item -> confirmed fills + transfers + approved adjustments
        self.pending: dict[str, dict[str, str]] = {}  # trade id -> fill, while in flight
        # trade id or transfer seq -> {"at_ms", "deltas": {item: amount}}: booked recently, so the
        # chain may not show it at the confirmation depth yet
        self.recent: dict[str, dict[str, Any]] = {}
        # (at_ms, n, key, record) of every record put in `recent`, oldest first: expiring costs
        # the expired records, not a scan of all of them on every fill (see `_recent`)
        self._expiry: list[tuple[int, int, str, dict[str, Any]]] = []
        self._pushed = 0
        self.final: set[str] = set()
        self.items: set[str] = {PUSD}  # every item ever held or moved: read even when now zero
        self.mismatched = False
        self.mismatch_seq: int | None = None
        self.record: dict[str, Any] | None = None  # the divergence record of the open mismatch
        self.adjustments: dict[str, dict[str, Any]] = {}
        self.approved_seq: int | None = None  # approval of a resolution of the open mismatch
        self.last_report: dict[str, Any] | None = None
        self.last_read: dict[str, Any] | None = None
        self.last_match_seq: int | None = None
        self.history: list[dict[str, Any]] = []

    # -- folding -------------------------------------------------------------------------------

    def _add(self, item: str, amount: Decimal) -> None:
        self.items.add(item)
        self.confirmed[item] = self.confirmed.get(item, ZERO) + amount

    def apply(self, entry: JournalEntry) -> None:
        env = entry.envelope
        kind = env.kind
        if kind == "fill":
            self._fill(env.payload, env.ts_ms)
        elif kind == "chain_transfer":
            p = env.payload
            amount = (1 if p["direction"] == "deposit" else -1) * Decimal(p["amount"])
            self._add(str(p["item"]), amount)
            self._recent(f"transfer_{entry.seq}", env.ts_ms, {str(p["item"]): amount})
        elif kind == "chain_read":
            if env.payload["status"] == "ok":
                self.last_read = {**env.payload, "seq": entry.seq}
        elif kind == "reconcile_adjustment" and env.reason_code == RECORDED_CODE:
            self._recorded(entry)
        elif kind == "note" and env.reason_code == APPROVED_CODE:
            self._approved(entry)
        elif kind == "gov_reconcile":
            self._report(entry)

    def _fill(self, p: dict[str, Any], ts_ms: int) -> None:
        trade_id, status = str(p["trade_id"]), str(p["settlement"])
        if trade_id in self.final:
            return
        trade = {"token_id": str(p["token_id"]), "side": str(p["side"]), "price": str(p["price"]),
                 "size": str(p["size"]), "fee": str(p.get("fee_pusd", "0")), "status": status}
        self.items.add(trade["token_id"])
        if status in IN_FLIGHT:
            self.pending[trade_id] = trade
            return
        self.pending.pop(trade_id, None)
        self.final.add(trade_id)
        if status == "CONFIRMED":
            shares, cash = _deltas(trade)
            self._add(trade["token_id"], shares)
            self._add(PUSD, cash)
            self._recent(trade_id, ts_ms, {trade["token_id"]: shares, PUSD: cash})

    def _recent(self, key: str, ts_ms: int, deltas: dict[str, Decimal]) -> None:
        # drops every record older than the window, whatever order they came in (journal time
        # can step back when another process's clock is behind): the heap is ordered by time
        while self._expiry and ts_ms - self._expiry[0][0] > RECENT_KEEP_MS:
            _, _, old, rec = heapq.heappop(self._expiry)
            if self.recent.get(old) is rec:  # not replaced by a later record under the same key
                del self.recent[old]
        self._remember(key, {"at_ms": ts_ms, "deltas": {k: str(v) for k, v in deltas.items()}})

    def _remember(self, key: str, rec: dict[str, Any]) -> None:
        self.recent[key] = rec
        heapq.heappush(self._expiry, (int(rec["at_ms"]), self._pushed, key, rec))
        self._pushed += 1

    def _recorded(self, entry: JournalEntry) -> None:
        p = entry.envelope.payload
        if not _operator_signed(entry) or str(entry.signer).lower() != str(p["requester"]).lower():
            if self.trust is not None:
                self.trust.report(entry, "refused", "a reconcile adjustment not signed by its requester")
            return
        self.adjustments[str(p["adjustment_id"])] = {
            "adjustment_id": p["adjustment_id"], "incident_id": p["incident_id"], "explain": p["explain"],
            "adjustments": {k: str(v) for k, v in p["adjustments"].items()}, "requester": p["requester"],
            "seq": entry.seq, "approved_by": None, "approved_seq": None,
            "for_mismatch_seq": self.mismatch_seq}

    def approval_problem(self, adjustment_id: str, approver: str) -> str | None:
        """Why `approver` may not approve this adjustment now, or None. Checked by the CLI before it
        writes and again here when the approval is folded, so a forged approval changes nothing."""
        adj = self.adjustments.get(adjustment_id)
        if adj is None:
            return f"no by-hand reconciliation {adjustment_id!r} was recorded"
        if adj["approved_by"] is not None:
            return f"{adjustment_id} was already approved by {adj['approved_by']}"
        if self.trust is not None:
            separation = self.trust.separation_problem(str(adj["requester"]), approver)
            if separation is not None:
                return separation
            role = self.trust.role(approver)
            if self.trust.system_key is not None and role not in ("approver", "admin"):
                return f"{approver} has role {role}; only an approver or admin may approve"
        return None

    def _approved(self, entry: JournalEntry) -> None:
        d = entry.envelope.payload["detail"]
        adjustment_id = str(d.get("adjustment_id"))
        approver = str(entry.signer) if entry.signer is not None else ""
        problem = ("an approval not signed by an operator" if not _operator_signed(entry)
                   else self.approval_problem(adjustment_id, approver))
        if problem is not None:
            if self.trust is not None:
                self.trust.report(entry, "refused", problem)
            return
        adj = self.adjustments[adjustment_id]
        adj["approved_by"], adj["approved_seq"] = approver, entry.seq
        for item, amount in adj["adjustments"].items():
            self._add(item, Decimal(amount))
        if self.mismatched:
            self.approved_seq = entry.seq

    def _report(self, entry: JournalEntry) -> None:
        p = entry.envelope.payload
        status = p.get("status", "mismatch")
        self.last_report = {**p, "seq": entry.seq}
        if status == "mismatch":
            if not self.mismatched:
                self.mismatched, self.mismatch_seq, self.approved_seq = True, entry.seq, None
                self.history.append({"seq": entry.seq, "event": "mismatch"})
            self.record = {**p, "seq": entry.seq}
        elif status == "match":
            self.last_match_seq = entry.seq
            if self.mismatched and self.approved_seq is not None:
                self.mismatched = False
                self.history.append({"seq": entry.seq, "event": "cleared", "mismatch_seq": self.mismatch_seq,
                                     "approved_seq": self.approved_seq})
                self.mismatch_seq, self.approved_seq = None, None

    # -- reading -------------------------------------------------------------------------------

    def tokens(self) -> list[str]:
        """Every outcome token held now or before, in a stable order."""
        return sorted(i for i in self.items if i != PUSD)

    def bands(self, now_ms: int, grace_ms: int) -> dict[str, Band]:
        """The ledger per item, with the room in-flight trades leave. Pure in (state, now, grace)."""
        low: dict[str, Decimal] = {}
        high: dict[str, Decimal] = {}

        def room(item: str, amount: Decimal) -> None:
            if amount < 0:
                low[item] = low.get(item, ZERO) + amount
            else:
                high[item] = high.get(item, ZERO) + amount

        for trade in self.pending.values():
            shares, cash = _deltas(trade)
            room(trade["token_id"], shares)
            room(PUSD, cash)
        for booked in self.recent.values():
            if now_ms - int(booked["at_ms"]) < grace_ms:  # the chain may not show it yet
                for item, amount in booked["deltas"].items():
                    room(item, -Decimal(amount))
        return {item: Band(self.confirmed.get(item, ZERO), low.get(item, ZERO), high.get(item, ZERO))
                for item in sorted(self.items)}

    def reset_blocker(self) -> str | None:
        """What still keeps a reconcile_mismatch trip from being reset, or None."""
        if not self.mismatched:
            return None
        seq = self.mismatch_seq
        mine = [a for a in self.adjustments.values() if a["for_mismatch_seq"] == seq]
        if not mine:
            return (f"the mismatch at seq {seq} has no by-hand reconciliation; record one with "
                    f"'polytraders reconcile resolve INCIDENT --explain TEXT [--adjust TOKEN=AMOUNT]'")
        if self.approved_seq is None:
            ids = ", ".join(a["adjustment_id"] for a in mine)
            return (f"the by-hand reconciliation ({ids}) awaits a second operator's approval "
                    f"('polytraders reconcile approve ADJUSTMENT')")
        return (f"no reconcile has matched since the approval at seq {self.approved_seq}; run "
                f"'polytraders reconcile'")

    def iter_adjustments(self) -> Iterator[dict[str, Any]]:
        yield from self.adjustments.values()

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "confirmed": {k: str(v) for k, v in self.confirmed.items()},
            "pending": {k: dict(v) for k, v in self.pending.items()},
            "recent": {k: {"at_ms": v["at_ms"], "deltas": dict(v["deltas"])} for k, v in self.recent.items()},
            "final": sorted(self.final), "items": sorted(self.items),
            "mismatched": self.mismatched, "mismatch_seq": self.mismatch_seq, "record": self.record,
            "adjustments": {k: dict(v) for k, v in self.adjustments.items()},
            "approved_seq": self.approved_seq, "last_report": self.last_report, "last_read": self.last_read,
            "last_match_seq": self.last_match_seq, "history": list(self.history),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.confirmed = {k: Decimal(v) for k, v in data["confirmed"].items()}
        self.pending = {k: dict(v) for k, v in data["pending"].items()}
        self.recent, self._expiry = {}, []
        for k, v in data["recent"].items():
            self._remember(k, {"at_ms": v["at_ms"], "deltas": dict(v["deltas"])})
        self.final, self.items = set(data["final"]), set(data["items"])
        self.mismatched, self.mismatch_seq, self.record = data["mismatched"], data["mismatch_seq"], data["record"]
        self.adjustments = {k: dict(v) for k, v in data["adjustments"].items()}
        self.approved_seq, self.last_report = data["approved_seq"], data["last_report"]
        self.last_read, self.last_match_seq = data["last_read"], data["last_match_seq"]
        self.history = list(data["history"])


def _operator_signed(entry: JournalEntry) -> bool:
    return entry.signer is not None and entry.signer != SYSTEM_SIGNER
