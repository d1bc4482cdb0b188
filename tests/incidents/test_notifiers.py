"""Tests for the incident notifiers, against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from polytraders.incidents.notifiers import (
    PAGING_UNAVAILABLE_CODE,
    REDACTED,
    ChannelNotifier,
    ConsoleChannel,
    DeliveryResult,
    Dispatcher,
    FileChannel,
    Notice,
    NotifierConfig,
    PageOutcome,
    Pager,
    PagerDutyEvents,
    SlackWebhook,
    build_dispatcher,
    iso8601_ms,
    pagerduty_event,
    pagerduty_severity,
    slack_message,
)

if TYPE_CHECKING:  # fixtures' types, for mypy only; pytest provides the objects
    from conftest import Receiver, SleepRecorder

# Fake secrets. They look like the real thing so that a leak would be easy to spot.
SLACK_PATH = "/services/T0SECRETT/B0SECRETB/xoxSECRETwebhookTOKEN123"
ROUTING_KEY = "R0UTINGKEYsecret0123456789abcdef"

MakeNotice = Callable[..., Notice]

SECRET_FRAGMENTS = [
    SLACK_PATH,
    *[segment for segment in SLACK_PATH.split("/") if segment and segment != "services"],
    ROUTING_KEY,
]


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        rendered = text if isinstance(text, str) else repr(text)
        for secret in SECRET_FRAGMENTS:
            assert secret not in rendered, f"secret leaked into {rendered!r}"


def pagerduty(receiver: Receiver, sleeps: SleepRecorder, **kwargs: Any) -> PagerDutyEvents:
    options: dict[str, Any] = {"timeout_s": 2.0, "retries": 3, "backoff_s": 0.5}
    options.update(kwargs)
    return PagerDutyEvents(ROUTING_KEY, url=receiver.url("/v2/enqueue"), sleep=sleeps, **options)


def slack(receiver: Receiver, sleeps: SleepRecorder, **kwargs: Any) -> SlackWebhook:
    options: dict[str, Any] = {"timeout_s": 2.0, "retries": 3, "backoff_s": 0.5}
    options.update(kwargs)
    return SlackWebhook(receiver.url(SLACK_PATH), sleep=sleeps, **options)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


# --------------------------------------------------------------------------------------------
# Notice
# --------------------------------------------------------------------------------------------


def test_notice_timestamp_is_iso8601_utc_millis(notice: Notice) -> None:
    assert notice.timestamp == "2026-01-02T03:04:05.678Z"
    assert iso8601_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso8601_ms(1) == "1970-01-01T00:00:00.001Z"


def test_notice_owns_a_copy_of_fields_and_is_hashable(make_notice: MakeNotice) -> None:
    source = {"trigger": "manual"}
    n = make_notice(fields=source)
    source["trigger"] = "changed"
    assert n.fields == {"trigger": "manual"}
    assert hash(n) == hash(make_notice(fields={"other": "x"}))


@pytest.mark.parametrize(
    "overrides",
    [
        {"priority": "P4"},
        {"action": "snooze"},
        {"title": "  "},
        {"incident_id": ""},
        {"dedup_key": ""},
        {"dedup_key": "k" * 256},
        {"ts_ms": -1},
        {"ts_ms": True},
        {"ts_ms": 1.5},
        {"fields": {"a": 1}},
    ],
)
def test_notice_rejects_invalid_values(make_notice: MakeNotice, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_notice(**overrides)


# --------------------------------------------------------------------------------------------
# PagerDuty payloads
# --------------------------------------------------------------------------------------------


def test_pagerduty_trigger_payload_is_exact(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    result = pagerduty(receiver, sleeps).send(notice)

    assert result == DeliveryResult(
        target=f"pagerduty:{receiver.base_url}/{REDACTED}",
        ok=True,
        attempts=1,
        status=202,
        error=None,
    )
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/v2/enqueue"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "polytraders/inc-20260102-001",
        "payload": {
            "summary": "[P0] Kill switch tripped: intraday drawdown",
            "source": "polytraders",
            "severity": "critical",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "custom_details": {
                "incident_id": "inc-20260102-001",
                "priority": "P0",
                "body": "Intraday drawdown reached 5.2% against a 5.0% limit. "
                "All trading is halted.",
                "fields": {
                    "trigger": "intraday_drawdown",
                    "observed": "5.2%",
                    "threshold": "5.0%",
                },
            },
        },
    }
    assert sleeps.delays == []


def test_pagerduty_ack_and_resolve_reuse_dedup_key_and_carry_nothing_else(
    receiver: Receiver, sleeps: SleepRecorder, make_notice: MakeNotice
) -> None:
    pd = pagerduty(receiver, sleeps)
    for action in ("trigger", "acknowledge", "resolve"):
        assert pd.send(make_notice(action=action)).ok

    trigger, ack, resolve = receiver.bodies
    assert trigger["event_action"] == "trigger"
    assert ack == {
        "routing_key": ROUTING_KEY,
        "event_action": "acknowledge",
        "dedup_key": trigger["dedup_key"],
    }
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")],
)
def test_pagerduty_severity_mapping(
    receiver: Receiver,
    sleeps: SleepRecorder,
    make_notice: MakeNotice,
    priority: str,
    severity: str,
) -> None:
    assert pagerduty_severity(priority) == severity  # type: ignore[arg-type]
    assert pagerduty(receiver, sleeps).send(make_notice(priority=priority)).ok
    payload = receiver.bodies[0]["payload"]
    assert payload["severity"] == severity
    assert payload["summary"].startswith(f"[{priority}] ")


def test_pagerduty_source_is_configurable(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    assert pagerduty(receiver, sleeps, source="polytraders-prod").send(notice).ok
    assert receiver.bodies[0]["payload"]["source"] == "polytraders-prod"


def test_pagerduty_summary_is_capped(make_notice: MakeNotice) -> None:
    event = pagerduty_event(make_notice(title="x" * 5000), ROUTING_KEY)
    assert len(event["payload"]["summary"]) == 1024


# --------------------------------------------------------------------------------------------
# PagerDuty retries
# --------------------------------------------------------------------------------------------


def test_pagerduty_retries_500_then_429_retry_after_then_202(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.script(500, receiver.reply(429, {"Retry-After": "2"}), 202)

    result = pagerduty(receiver, sleeps, backoff_s=0.5).send(notice)

    assert result.ok
    assert result.attempts == 3
    assert result.status == 202
    assert result.error is None
    # 0.5 s backoff after the 500, then the server's Retry-After of 2 s after the 429.
    assert sleeps.delays == [0.5, 2.0]
    assert len(receiver.requests) == 3
    # Every retry sends the identical event (same dedup_key).
    assert receiver.requests[0].raw == receiver.requests[1].raw == receiver.requests[2].raw


def test_pagerduty_backoff_is_exponential_and_bounded_by_retries(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.default = receiver.reply(503)

    result = pagerduty(receiver, sleeps, retries=4, backoff_s=1.0, max_delay_s=5.0).send(notice)

    assert not result.ok
    assert result.attempts == 5
    assert result.status == 503
    assert result.error is not None and "503" in result.error
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0]  # last one capped at max_delay_s
    assert len(receiver.requests) == 5


def test_retry_after_is_capped(receiver: Receiver, sleeps: SleepRecorder, notice: Notice) -> None:
    receiver.script(receiver.reply(429, {"Retry-After": "3600"}), 202)
    result = pagerduty(receiver, sleeps, max_delay_s=30.0).send(notice)
    assert result.ok and result.attempts == 2
    assert sleeps.delays == [30.0]


def test_retry_after_http_date_falls_back_to_backoff(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.script(receiver.reply(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), 202)
    result = pagerduty(receiver, sleeps, backoff_s=0.25).send(notice)
    assert result.ok and result.attempts == 2
    assert sleeps.delays == [0.25]


def test_retry_after_is_honoured_on_503(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.script(receiver.reply(503, {"Retry-After": "7"}), 202)
    result = pagerduty(receiver, sleeps, backoff_s=0.25).send(notice)
    assert result.ok and result.attempts == 2
    assert sleeps.delays == [7.0]


def test_retries_zero_means_one_attempt(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.default = receiver.reply(500)
    result = pagerduty(receiver, sleeps, retries=0).send(notice)
    assert (result.ok, result.attempts, result.status) == (False, 1, 500)
    assert sleeps.delays == []


def test_lone_surrogates_and_control_characters_are_delivered(
    tmp_path: Path,
    receiver: Receiver,
    slack_receiver: Receiver,
    sleeps: SleepRecorder,
    make_notice: MakeNotice,
) -> None:
    odd = make_notice(title="bad \ud800 title", body="nul \x00 and \udfff", fields={"\ud83d": "x"})
    assert pagerduty(receiver, sleeps).send(odd).ok
    assert slack(slack_receiver, sleeps).send(odd).ok
    assert FileChannel(tmp_path / "c.jsonl").send(odd).ok
    assert receiver.bodies[0]["payload"]["summary"] == "[P0] bad \ufffd title"
    assert read_lines(tmp_path / "c.jsonl")[0]["body"] == "nul \x00 and \ufffd"


def test_pagerduty_400_is_not_retried(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.script(
        receiver.reply(400, {"Content-Type": "application/json"}, b'{"status":"invalid event"}')
    )

    result = pagerduty(receiver, sleeps).send(notice)

    assert not result.ok
    assert result.attempts == 1
    assert result.status == 400
    assert result.error is not None and result.error.startswith("HTTP 400")
    assert "invalid event" in result.error
    assert sleeps.delays == []
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [200, 401, 403, 404, 413])
def test_pagerduty_non_202_non_retryable_statuses_fail_once(
    receiver: Receiver, sleeps: SleepRecorder, notice: Notice, status: int
) -> None:
    receiver.script(status)
    result = pagerduty(receiver, sleeps).send(notice)
    assert (result.ok, result.attempts, result.status) == (False, 1, status)
    assert sleeps.delays == []


def test_pagerduty_connection_refused_is_retried_then_reported(
    closed_port_url: str, sleeps: SleepRecorder, notice: Notice
) -> None:
    pd = PagerDutyEvents(
        ROUTING_KEY,
        url=closed_port_url + "/v2/enqueue",
        timeout_s=1.0,
        retries=2,
        backoff_s=0.1,
        sleep=sleeps,
    )
    result = pd.send(notice)
    assert not result.ok
    assert result.attempts == 3
    assert result.status is None
    assert result.error is not None and "ConnectError" in result.error
    assert sleeps.delays == [0.1, 0.2]


def test_read_timeout_is_retried(receiver: Receiver, sleeps: SleepRecorder, notice: Notice) -> None:
    receiver.script(receiver.reply(202, delay_s=1.0), 202)
    result = pagerduty(receiver, sleeps, timeout_s=0.2, backoff_s=0.0).send(notice)
    assert result.ok
    assert result.attempts == 2
    assert sleeps.delays == [0.0]


def test_injected_client_is_used(receiver: Receiver, sleeps: SleepRecorder, notice: Notice) -> None:
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request.method)

    with httpx.Client(event_hooks={"request": [hook]}) as client:
        result = pagerduty(receiver, sleeps, client=client).send(notice)
    assert result.ok
    assert seen == ["POST"]


# --------------------------------------------------------------------------------------------
# Slack
# --------------------------------------------------------------------------------------------


def test_slack_payload_is_exact(
    slack_receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    result = slack(slack_receiver, sleeps).send(notice)

    assert result == DeliveryResult(
        target=f"slack:{slack_receiver.base_url}/{REDACTED}",
        ok=True,
        attempts=1,
        status=200,
        error=None,
    )
    [request] = slack_receiver.requests
    assert request.method == "POST"
    assert request.path == SLACK_PATH
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "text": "P0 TRIGGERED: Kill switch tripped: intraday drawdown",
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": "P0 TRIGGERED: Kill switch tripped: intraday drawdown",
                    "emoji": True,
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Intraday drawdown reached 5.2% against a 5.0% limit. "
                    "All trading is halted.",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Incident*\ninc-20260102-001"},
                    {"type": "mrkdwn", "text": "*Priority*\nP0"},
                    {"type": "mrkdwn", "text": "*Action*\ntrigger"},
                    {"type": "mrkdwn", "text": "*Time (UTC)*\n2026-01-02T03:04:05.678Z"},
                    {"type": "mrkdwn", "text": "*trigger*\nintraday_drawdown"},
                    {"type": "mrkdwn", "text": "*observed*\n5.2%"},
                    {"type": "mrkdwn", "text": "*threshold*\n5.0%"},
                ],
            },
        ],
    }


def test_slack_escapes_user_text_so_it_cannot_mention_or_link(make_notice: MakeNotice) -> None:
    message = slack_message(
        make_notice(body="<!channel> see <https://evil.example|here> & panic", fields={})
    )
    text = message["blocks"][1]["text"]["text"]
    assert text == "&lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; panic"
    assert "<" not in orjson.dumps(message).decode()


def test_slack_many_fields_are_split_into_sections_of_ten(make_notice: MakeNotice) -> None:
    fields = {f"k{i:02d}": str(i) for i in range(60)}
    message = slack_message(make_notice(fields=fields))
    sections = [b for b in message["blocks"] if b["type"] == "section" and "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10, 10, 10]
    assert message["blocks"][-1]["type"] == "context"
    assert "24 more field(s)" in message["blocks"][-1]["elements"][0]["text"]


def test_slack_retries_500_and_429_then_succeeds(
    slack_receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    slack_receiver.script(500, slack_receiver.reply(429, {"Retry-After": "1"}), 502)

    result = slack(slack_receiver, sleeps, backoff_s=0.5).send(notice)

    assert result.ok
    assert result.attempts == 4
    assert result.status == 200
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert len(slack_receiver.requests) == 4


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, b"invalid_payload"),
        (403, b"invalid_token"),
        (404, b"no_service"),
        (410, b"channel_is_archived"),
    ],
)
def test_slack_other_4xx_is_not_retried(
    slack_receiver: Receiver, sleeps: SleepRecorder, notice: Notice, status: int, body: bytes
) -> None:
    slack_receiver.script(slack_receiver.reply(status, {"Content-Type": "text/plain"}, body))

    result = slack(slack_receiver, sleeps).send(notice)

    assert (result.ok, result.attempts, result.status) == (False, 1, status)
    assert result.error == f"HTTP {status}: {body.decode()}"
    assert sleeps.delays == []


def test_slack_rejects_plain_http_off_loopback() -> None:
    with pytest.raises(ValueError) as info:
        SlackWebhook("http://hooks.slack.com" + SLACK_PATH)
    assert_no_secret(str(info.value), repr(info.value))
    with pytest.raises(ValueError):
        SlackWebhook("not a url")


# --------------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------------


def test_file_channel_appends_one_json_object_per_line(
    tmp_path: Path, make_notice: MakeNotice
) -> None:
    path = tmp_path / "nested" / "channel.jsonl"
    channel = FileChannel(path)
    assert channel.send(make_notice()) == DeliveryResult(f"file:{path}", True, 1, None, None)
    assert channel.send(make_notice(action="resolve"), paging_fallback=True).ok

    first, second = read_lines(path)
    assert first == {
        "kind": "incident_notice",
        "incident_id": "inc-20260102-001",
        "priority": "P0",
        "action": "trigger",
        "pager_action": "trigger",
        "title": "Kill switch tripped: intraday drawdown",
        "body": "Intraday drawdown reached 5.2% against a 5.0% limit. All trading is halted.",
        "fields": {"trigger": "intraday_drawdown", "observed": "5.2%", "threshold": "5.0%"},
        "dedup_key": "polytraders/inc-20260102-001",
        "ts_ms": 1_767_323_045_678,
        "timestamp": "2026-01-02T03:04:05.678Z",
        "paging_fallback": False,
    }
    assert second["action"] == "resolve"
    assert second["paging_fallback"] is True


def test_file_channel_reports_disk_failure_without_raising(tmp_path: Path, notice: Notice) -> None:
    result = FileChannel(tmp_path).send(notice)  # a directory cannot be appended to
    assert not result.ok
    assert result.error is not None


def test_console_channel_writes_one_line(make_notice: MakeNotice) -> None:
    stream = io.StringIO()
    channel = ConsoleChannel(stream)
    assert channel.send(make_notice(body="line one\nline two"), paging_fallback=True).ok
    out = stream.getvalue()
    assert out.count("\n") == 1
    assert out.startswith("2026-01-02T03:04:05.678Z P0 TRIGGERED inc-20260102-001 [PAGING FALLBACK")
    assert "line one line two" in out
    assert "observed=5.2%" in out


def test_implementations_satisfy_the_protocols(
    tmp_path: Path, receiver: Receiver, sleeps: SleepRecorder
) -> None:
    assert isinstance(FileChannel(tmp_path / "c.jsonl"), ChannelNotifier)
    assert isinstance(ConsoleChannel(io.StringIO()), ChannelNotifier)
    assert isinstance(slack(receiver, sleeps), ChannelNotifier)
    assert isinstance(pagerduty(receiver, sleeps), Pager)


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------


def test_page_delivered_does_not_touch_the_channel(
    tmp_path: Path, receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    path = tmp_path / "channel.jsonl"
    outcome = Dispatcher(FileChannel(path), [pagerduty(receiver, sleeps)]).page(notice)

    assert outcome.delivered and not outcome.fallback_used
    assert outcome.reason_code is None
    assert [r.ok for r in outcome.results] == [True]
    assert outcome.fallback_results == []
    assert not path.exists()


def test_page_falls_back_to_channel_when_pagerduty_returns_503(
    tmp_path: Path, receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    receiver.default = receiver.reply(503)
    path = tmp_path / "channel.jsonl"
    dispatcher = Dispatcher(FileChannel(path), [pagerduty(receiver, sleeps, retries=2)])

    outcome = dispatcher.page(notice)

    assert isinstance(outcome, PageOutcome)
    assert not outcome.delivered
    assert outcome.fallback_used
    assert outcome.reason_code == PAGING_UNAVAILABLE_CODE == "GOV_PAGING_SYSTEM_UNAVAILABLE"
    [pd_result] = outcome.results
    assert (pd_result.ok, pd_result.attempts, pd_result.status) == (False, 3, 503)
    assert sleeps.delays == [0.5, 1.0]
    assert [r.ok for r in outcome.fallback_results] == [True]
    [line] = read_lines(path)
    assert line["paging_fallback"] is True
    assert line["incident_id"] == notice.incident_id
    assert line["dedup_key"] == notice.dedup_key
    assert_no_secret(outcome)


def test_page_falls_back_when_pagerduty_port_is_closed(
    tmp_path: Path, closed_port_url: str, sleeps: SleepRecorder, notice: Notice
) -> None:
    path = tmp_path / "channel.jsonl"
    pd = PagerDutyEvents(
        ROUTING_KEY, url=closed_port_url + "/v2/enqueue", retries=1, backoff_s=0.0, sleep=sleeps
    )
    outcome = Dispatcher(FileChannel(path), [pd]).page(notice)

    assert (outcome.delivered, outcome.fallback_used) == (False, True)
    assert outcome.results[0].status is None
    assert outcome.results[0].attempts == 2
    assert read_lines(path)[0]["paging_fallback"] is True
    assert_no_secret(outcome)


def test_page_without_pagers_uses_the_fallback(tmp_path: Path, notice: Notice) -> None:
    path = tmp_path / "channel.jsonl"
    outcome = Dispatcher(FileChannel(path), []).page(notice)
    assert outcome == PageOutcome(
        delivered=False,
        fallback_used=True,
        results=[],
        fallback_results=[DeliveryResult(f"file:{path}", True, 1, None, None)],
    )
    assert read_lines(path)[0]["paging_fallback"] is True


def test_page_fallback_also_posts_to_slack_marked_as_fallback(
    tmp_path: Path,
    receiver: Receiver,
    slack_receiver: Receiver,
    sleeps: SleepRecorder,
    notice: Notice,
) -> None:
    receiver.default = receiver.reply(500)
    dispatcher = Dispatcher(
        FileChannel(tmp_path / "c.jsonl"),
        [pagerduty(receiver, sleeps, retries=0)],
        slack=slack(slack_receiver, sleeps),
    )

    outcome = dispatcher.page(notice)

    assert outcome.fallback_used
    assert [r.ok for r in outcome.fallback_results] == [True, True]
    header = slack_receiver.bodies[0]["blocks"][0]["text"]["text"]
    assert header.startswith("PAGING FALLBACK – P0 TRIGGERED")
    assert "Paging system unavailable" in slack_receiver.bodies[0]["blocks"][1]["text"]["text"]


def test_page_sends_to_every_pager_and_succeeds_if_one_accepts(
    tmp_path: Path,
    receiver: Receiver,
    closed_port_url: str,
    sleeps: SleepRecorder,
    make_notice: MakeNotice,
) -> None:
    down = PagerDutyEvents(ROUTING_KEY, url=closed_port_url, retries=0, sleep=sleeps)
    up = pagerduty(receiver, sleeps)
    dispatcher = Dispatcher(FileChannel(tmp_path / "c.jsonl"), [down, up])

    outcome = dispatcher.page(make_notice(action="resolve"))

    assert outcome.delivered and not outcome.fallback_used
    assert [r.ok for r in outcome.results] == [False, True]
    assert receiver.bodies[0]["event_action"] == "resolve"


def test_post_writes_channel_and_slack(
    tmp_path: Path, slack_receiver: Receiver, sleeps: SleepRecorder, notice: Notice
) -> None:
    path = tmp_path / "c.jsonl"
    results = Dispatcher(FileChannel(path), [], slack=slack(slack_receiver, sleeps)).post(notice)
    assert [r.ok for r in results] == [True, True]
    assert read_lines(path)[0]["paging_fallback"] is False
    assert slack_receiver.bodies[0]["text"].startswith("P0 TRIGGERED")


def test_post_without_slack_writes_only_the_channel(tmp_path: Path, notice: Notice) -> None:
    results = Dispatcher(FileChannel(tmp_path / "c.jsonl"), []).post(notice)
    assert len(results) == 1 and results[0].ok


class _Exploding:
    target = "exploding"

    def send(self, notice: Notice, *, paging_fallback: bool = False) -> DeliveryResult:
        raise RuntimeError("boom")


def test_dispatcher_never_raises_when_a_notifier_raises(tmp_path: Path, notice: Notice) -> None:
    path = tmp_path / "c.jsonl"
    outcome = Dispatcher(FileChannel(path), [_Exploding()], slack=_Exploding()).page(notice)
    assert not outcome.delivered
    assert outcome.results == [DeliveryResult("exploding", False, 0, None, "raised RuntimeError")]
    assert [r.ok for r in outcome.fallback_results] == [True, False]
    assert read_lines(path)[0]["paging_fallback"] is True


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


def test_build_dispatcher_from_config(
    tmp_path: Path,
    receiver: Receiver,
    slack_receiver: Receiver,
    sleeps: SleepRecorder,
    notice: Notice,
) -> None:
    config = NotifierConfig(
        channel_path=tmp_path / "c.jsonl",
        slack_webhook_url=SecretStr(slack_receiver.url(SLACK_PATH)),
        pagerduty_routing_key=SecretStr(ROUTING_KEY),
        pagerduty_url=receiver.url("/v2/enqueue"),
        retries=1,
        backoff_s=0.0,
    )
    dispatcher = build_dispatcher(config, sleep=sleeps)

    assert isinstance(dispatcher.channel, FileChannel)
    assert isinstance(dispatcher.slack, SlackWebhook)
    assert [type(p) for p in dispatcher.pagers] == [PagerDutyEvents]
    assert dispatcher.page(notice).delivered
    assert receiver.bodies[0]["routing_key"] == ROUTING_KEY
    assert [r.ok for r in dispatcher.post(notice)] == [True, True]
    assert_no_secret(repr(config), str(config), config.model_dump_json(), repr(dispatcher))


def test_minimal_config_has_only_the_file_channel(tmp_path: Path) -> None:
    dispatcher = build_dispatcher(NotifierConfig(channel_path=tmp_path / "c.jsonl"))
    assert dispatcher.pagers == ()
    assert dispatcher.slack is None


def test_config_errors_do_not_echo_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        NotifierConfig(
            channel_path=tmp_path / "c.jsonl",
            slack_webhook_url="http://hooks.slack.com" + SLACK_PATH,
            pagerduty_routing_key=ROUTING_KEY,
            retries=-1,
        )
    assert_no_secret(
        str(info.value), repr(info.value), json.dumps(info.value.errors(), default=str)
    )
    assert {e["loc"][0] for e in info.value.errors()} == {"slack_webhook_url", "retries"}


@pytest.mark.parametrize("how", ["init", "validate", "validate_json"])
def test_config_errors_with_whole_input_do_not_echo_secrets(how: str) -> None:
    # A missing required field makes pydantic report the whole input mapping as "input".
    data = {
        "slack_webhook_url": "https://hooks.slack.com" + SLACK_PATH,
        "pagerduty_routing_key": ROUTING_KEY,
    }
    with pytest.raises(ValidationError) as info:
        if how == "init":
            NotifierConfig(**data)
        elif how == "validate":
            NotifierConfig.model_validate(data)
        else:
            NotifierConfig.model_validate_json(json.dumps(data))
    [error] = info.value.errors()
    assert error["type"] == "missing" and error["loc"] == ("channel_path",)
    assert_no_secret(str(info.value), repr(info.value), repr(info.value.errors()))
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_config_accepts_plain_strings_and_hides_them(tmp_path: Path) -> None:
    config = NotifierConfig.model_validate(
        {
            "channel_path": str(tmp_path / "c.jsonl"),
            "slack_webhook_url": "https://hooks.slack.com" + SLACK_PATH,
            "pagerduty_routing_key": ROUTING_KEY,
        }
    )
    assert config.pagerduty_routing_key is not None
    assert config.pagerduty_routing_key.get_secret_value() == ROUTING_KEY
    assert_no_secret(repr(config), config.model_dump_json())
    assert build_dispatcher(config).slack is not None


# --------------------------------------------------------------------------------------------
# Secrets never leak
# --------------------------------------------------------------------------------------------


def test_secrets_never_appear_in_results_reprs_errors_or_logs(
    receiver: Receiver,
    slack_receiver: Receiver,
    closed_port_url: str,
    sleeps: SleepRecorder,
    notice: Notice,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Hostile servers that echo the credential back in their error bodies.
    receiver.script(
        receiver.reply(500, body=f"bad key {ROUTING_KEY}".encode()),
        receiver.reply(400, body=f'{{"errors":["routing_key {ROUTING_KEY} invalid"]}}'.encode()),
    )
    slack_receiver.script(
        slack_receiver.reply(500, body=f"no route for {SLACK_PATH}".encode()),
        slack_receiver.reply(404, body=f"no_service {SLACK_PATH.split('/')[-1]}".encode()),
    )
    pd = pagerduty(receiver, sleeps)
    sl = slack(slack_receiver, sleeps)
    dead_pd = PagerDutyEvents(ROUTING_KEY, url=closed_port_url, retries=1, sleep=sleeps)
    dead_slack = SlackWebhook(closed_port_url + SLACK_PATH, retries=1, sleep=sleeps)
    dispatcher = Dispatcher(FileChannel(tmp_path / "c.jsonl"), [pd, dead_pd], slack=sl)

    results: list[object] = [
        pd.send(notice),
        sl.send(notice),
        dead_pd.send(notice),
        dead_slack.send(notice),
        dispatcher.page(notice),
        dispatcher.post(notice),
    ]

    failures = [r for r in results if isinstance(r, DeliveryResult) and not r.ok]
    assert failures, "the scenario must include failures"
    assert any(r.error and REDACTED in r.error for r in failures), "echoed secret was scrubbed"
    for r in results:
        assert_no_secret(r, str(r))
    for obj in (pd, sl, dead_pd, dead_slack, dispatcher):
        assert_no_secret(repr(obj), str(obj), obj.__dict__ if hasattr(obj, "__dict__") else "")
    assert pd.target == f"pagerduty:{receiver.base_url}/{REDACTED}"
    assert sl.target == f"slack:{slack_receiver.base_url}/{REDACTED}"
    # httpx logs "HTTP Request: POST <url>"; the webhook URL must be scrubbed from it.
    assert any("HTTP Request: POST" in m for m in caplog.messages)
    assert_no_secret(caplog.text, *caplog.messages)


# --------------------------------------------------------------------------------------------
# Property: any Notice renders to valid payloads
# --------------------------------------------------------------------------------------------

# Any code point, including lone surrogates and the characters Slack treats specially.
_alphabet = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(list("<>&*_`\n\t\x00 ")),
)
_any_text = st.text(alphabet=_alphabet, max_size=300)
_nonblank = _any_text.filter(lambda s: bool(s.strip()))

notices = st.builds(
    Notice,
    incident_id=_nonblank,
    priority=st.sampled_from(["P0", "P1", "P2", "P3"]),
    title=_nonblank,
    body=st.one_of(_any_text, st.text(max_size=10_000)),
    fields=st.dictionaries(_any_text, _any_text, max_size=60),
    action=st.sampled_from(["trigger", "acknowledge", "resolve"]),
    dedup_key=st.text(
        alphabet=st.characters(exclude_categories=()), min_size=1, max_size=255
    ).filter(lambda s: bool(s.strip())),
    ts_ms=st.integers(min_value=0, max_value=253_402_300_799_999),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notice=notices, paging_fallback=st.booleans())
def test_any_notice_renders_valid_payloads(notice: Notice, paging_fallback: bool) -> None:
    # PagerDuty
    encoded = orjson.dumps(pagerduty_event(notice, ROUTING_KEY))
    assert len(encoded) <= 512 * 1024
    event = json.loads(encoded)
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == notice.action
    assert 1 <= len(event["dedup_key"]) <= 255
    if notice.action == "trigger":
        assert set(event) == {"routing_key", "event_action", "dedup_key", "payload"}
        payload = event["payload"]
        assert {"summary", "source", "severity", "timestamp", "custom_details"} <= set(payload)
        assert 1 <= len(payload["summary"]) <= 1024
        assert payload["severity"] == pagerduty_severity(notice.priority)
        assert payload["timestamp"] == iso8601_ms(notice.ts_ms)
        assert isinstance(payload["custom_details"], dict)
    else:
        assert set(event) == {"routing_key", "event_action", "dedup_key"}

    # Slack
    message = json.loads(orjson.dumps(slack_message(notice, paging_fallback=paging_fallback)))
    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 2 <= len(blocks) <= 50
    header = blocks[0]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert 1 <= len(header["text"]["text"]) <= 150
    for block in blocks[1:]:
        assert block["type"] in {"section", "context"}
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert 1 <= len(block["text"]["text"]) <= 3000
            if "fields" in block:
                assert 1 <= len(block["fields"]) <= 10
                for item in block["fields"]:
                    assert item["type"] == "mrkdwn"
                    assert 1 <= len(item["text"]) <= 2000
    # Untrusted text can never open a Slack link or mention.
    for block in blocks[1:]:
        for item in [block.get("text"), *block.get("fields", [])]:
            if item is not None and "Paging system unavailable" not in item["text"]:
                assert "<" not in item["text"] and ">" not in item["text"]
