"""Chain test helpers: a real anvil process on a free loopback port (stopped after each test), the
stand-in contracts deployed on it, and a harness wiring the reconciler, the kill switch, the
guardian and the incident engine the way the running system does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from factories import make_trusted_runtime

from polytraders.bots.risk.kill_switch import KillSwitch
from polytraders.bots.strat.maker_tight import MakerTight
from polytraders.chain.anvil import AnvilMissing, AnvilNode, ChainAdmin
from polytraders.chain.base import ChainReader
from polytraders.engine.protect import Guardian
from polytraders.engine.reconcile import ReconcileDriver, block_height
from polytraders.incidents.config import Roster
from polytraders.incidents.engine import PlaybookRunner
from polytraders.incidents.notifiers import NotifierConfig, build_dispatcher
from polytraders.journal.base import JournalEntry
from polytraders.operators.auth import Operator
from polytraders.runtime.clock import SimClock
from polytraders.runtime.runner import Runtime

T0_S = 1_767_571_200
FUNDER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil's 4th dev account (no key needed: impersonated)
THIEF = "0x000000000000000000000000000000000000dEaD"


@dataclass
class Anvil:
    node: AnvilNode
    admin: ChainAdmin
    clock: SimClock

    def mine(self, blocks: int = 3) -> None:
        """Advance the simulated clock 2 s per block and mine at those times (a live chain keeps going)."""
        for _ in range(blocks):
            self.clock.advance_to(self.clock.now_ms() + 2_000)
            self.admin.mine(1, self.clock.now_ms())


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    try:
        node = AnvilNode(timestamp_s=T0_S)
    except AnvilMissing as exc:  # only when scripts/install-test-tools.sh could not install it
        pytest.skip(f"anvil unavailable: {exc}")
    try:
        admin = ChainAdmin.deploy(node.url, timestamp_s=T0_S)
        clock = SimClock(T0_S * 1000 + 10_000)
        yield Anvil(node, admin, clock)
    finally:
        node.stop()


class _Olm:
    """The guardian's view of the OLM: these tests hold no orders, so cancels only count."""

    def __init__(self) -> None:
        self.cancels: list[Any] = []

    def cancel_all(self, tokens: Any, reason: str = "", answer_later: bool = False) -> None:
        self.cancels.append((tokens, reason))

    def cancel(self, client_order_id: str) -> None:
        self.cancels.append(client_order_id)

    def emergency_cancel_all(self, reason: str) -> None:
        self.cancels.append(reason)


@dataclass
class Harness:
    rt: Runtime
    ops: dict[str, Operator]
    driver: ReconcileDriver
    guardian: Guardian
    runner: PlaybookRunner
    strategy: MakerTight
    entries: list[JournalEntry] = field(default_factory=list)

    def reconcile(self) -> JournalEntry:
        entry = self.driver.run()
        assert entry is not None
        self.guardian.act()
        return entry


def make_harness(tmp_path: Path, clock: SimClock, reader: ChainReader | None, funder: str = FUNDER,
                 overrides: dict[str, Any] | None = None) -> Harness:
    rt, ops = make_trusted_runtime(tmp_path / "journal.db", clock)
    ks = KillSwitch()
    rt.add_bot(ks)
    strategy = MakerTight()
    rt.add_bot(strategy)
    runner = PlaybookRunner(rt, {}, build_dispatcher(NotifierConfig(channel_path=tmp_path / "channel.jsonl")),
                            Roster({"risk": ("alice",), "security": ("bob",)}), snapshots_dir=tmp_path / "snaps",
                            chain_reader=(lambda: block_height(reader)) if reader is not None else None)
    guardian = Guardian(rt, ks, _Olm(), after_trip=runner.handle_trip)
    driver = ReconcileDriver(rt, reader, funder, overrides=overrides)
    return Harness(rt, ops, driver, guardian, runner, strategy)
