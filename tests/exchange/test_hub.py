"""The WebSocket session table and the hub's bounded fan-out."""

from __future__ import annotations

import asyncio

from polytraders.exchange.hub import CLOSE_SLOW, QUEUE_LIMIT, Hub, Sess, Session, next_state


def test_session_transitions() -> None:
    assert next_state(Sess.OPEN, "ping") is Sess.OPEN
    assert next_state(Sess.OPEN, "subscribe") is Sess.SUBSCRIBED
    assert next_state(Sess.OPEN, "operation") is Sess.CLOSED, "no dynamic change before a subscribe"
    assert next_state(Sess.SUBSCRIBED, "operation") is Sess.SUBSCRIBED
    assert next_state(Sess.SUBSCRIBED, "invalid") is Sess.CLOSED
    assert next_state(Sess.CLOSED, "ping") is Sess.CLOSED


def test_a_slow_client_is_dropped_not_waited_for() -> None:
    async def scenario() -> None:
        hub = Hub()
        slow, fast = Session("market"), Session("market")
        for s in (slow, fast):
            s.state, s.assets = Sess.SUBSCRIBED, {"t1"}
            hub.add(s)
        for i in range(QUEUE_LIMIT + 1):
            hub.publish_market("t1", f"m{i}")
            while not fast.queue.empty():  # the fast client keeps up
                fast.queue.get_nowait()
        assert slow.state is Sess.CLOSED and slow not in hub.sessions
        items = []
        while not slow.queue.empty():
            items.append(slow.queue.get_nowait())
        assert items[-1] == CLOSE_SLOW, "the close frame gets through even to a full queue"
        assert fast in hub.sessions and fast.state is Sess.SUBSCRIBED

    asyncio.run(scenario())


def test_user_events_reach_only_their_owner_and_markets() -> None:
    async def scenario() -> None:
        hub = Hub()
        alice, bob, alice_m2 = Session("user", owner="a"), Session("user", owner="b"), Session("user", owner="a")
        alice_m2.markets = {"m2"}
        for s in (alice, bob, alice_m2):
            s.state = Sess.SUBSCRIBED
            hub.add(s)
        hub.publish_user({"a"}, "m1", "x")
        assert (alice.queue.qsize(), bob.queue.qsize(), alice_m2.queue.qsize()) == (1, 0, 0)

    asyncio.run(scenario())
