"""The dispatcher against a real receiver on 127.0.0.1: signing, order, retries, dead letters, restarts."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer
from standardwebhooks.webhooks import Webhook

from wa_gateway import __version__
from wa_gateway.clock import ManualClock, SystemClock
from wa_gateway.middlewares import error_envelope_middleware
from wa_gateway.webhooks import WebhookAdminApi, WebhookDispatcher, WebhookOutbox, sign_hex

from .webhook_harness import (
    MODE_404,
    MODE_408,
    MODE_410,
    MODE_429,
    MODE_500,
    MODE_OK,
    MODE_REDIRECT,
    MODE_SLOW,
    Receiver,
    drive,
    eventually,
)

TOKEN = "6281234567"
MakeDispatcher = Callable[..., Any]


async def test_delivery_carries_every_header_and_verifies(
    db_path: Path, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    # Real time here: the Standard Webhooks library checks webhook-timestamp against the wall clock.
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    async with WebhookOutbox(db_path.with_name("real-time.db")) as outbox:
        await make_dispatcher(outbox=outbox, clock=SystemClock(), secret=secret)
        msg_id = await outbox.enqueue("message.received", TOKEN, {"text": "héllo"})
        await eventually(lambda: len(receiver.delivered()) == 1, what="the delivery")

        request = receiver.requests[0]
        record = await outbox.get(msg_id)
        assert record is not None
        assert request.body == record.body
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == f"wa-gateway/{__version__}"
        assert request.headers["X-Webhook-Signature"] == "sha256=" + sign_hex(secret, request.body)
        assert request.headers["webhook-id"] == msg_id
        assert Webhook(secret).verify(request.body, request.headers)["data"] == {"text": "héllo"}
        await eventually(lambda: status_of_is(outbox, msg_id, "delivered"), what="the delivered mark")


async def test_hex_format_and_plain_secret(
    db_path: Path, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    secret = "plain text secret"
    async with WebhookOutbox(db_path.with_name("real-time.db")) as outbox:
        await make_dispatcher(outbox=outbox, clock=SystemClock(), secret=secret, signature_format="hex")
        await outbox.enqueue("device.connected", TOKEN, None)
        await eventually(lambda: len(receiver.delivered()) == 1, what="the delivery")

    request = receiver.requests[0]
    assert request.headers["X-Webhook-Signature"] == sign_hex(secret, request.body)
    assert Webhook(secret.encode()).verify(request.body, request.headers)["event"] == "device.connected"


async def test_no_secret_no_signature_headers(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    await make_dispatcher()
    await outbox.enqueue("device.connected", TOKEN, None)
    await eventually(lambda: len(receiver.delivered()) == 1, what="the delivery")
    headers = {k.lower() for k in receiver.requests[0].headers}
    assert not headers & {"x-webhook-signature", "webhook-id", "webhook-timestamp", "webhook-signature"}


async def test_per_token_order_holds_under_concurrency_and_failures(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    tokens = [f"62800000{n:02d}" for n in range(6)]
    rng = random.Random(99)
    receiver.script = [rng.choice([MODE_OK, MODE_OK, MODE_500]) for _ in range(200)]
    receiver.latency_s = 0.01
    await make_dispatcher(concurrency=3, max_attempts=100)
    enqueued: dict[str, list[str]] = {t: [] for t in tokens}
    for n in range(10):
        ids = await outbox.enqueue_many([("message.received", t, {"n": n}) for t in tokens])
        for token, msg_id in zip(tokens, ids, strict=True):
            enqueued[token].append(msg_id)

    await drive(clock, lambda: len(receiver.delivered()) == 60, step=5.0, what="all 60 deliveries")

    for token in tokens:
        assert receiver.delivered_ids(token) == enqueued[token]
        # Never a later event before an earlier one was delivered: attempts only move forward.
        attempted = [r.id for r in receiver.requests if r.payload["token"] == token]
        positions = [enqueued[token].index(i) for i in attempted]
        assert positions == sorted(positions)
    assert any(r.mode == MODE_500 for r in receiver.requests)
    assert 2 <= receiver.max_in_flight <= 3
    await eventually(lambda: _settled(outbox, delivered=60), what="all 60 marked delivered")


async def test_receiver_down_then_failing_then_slow_loses_nothing(
    outbox: WebhookOutbox,
    make_dispatcher: MakeDispatcher,
    clock: ManualClock,
    unused_tcp_port: int,
    aiohttp_server: AiohttpServer,
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/hook?key=s3cr3t"
    dispatcher: WebhookDispatcher = await make_dispatcher(url=url, timeout_s=0.3, max_attempts=50, secret="k")
    ids = await outbox.enqueue_many([("message.received", TOKEN, {"n": n}) for n in range(3)])

    async def head_attempts() -> int:
        record = await outbox.get(ids[0])
        assert record is not None
        return record.attempts

    async def refused_three_times() -> bool:
        return await head_attempts() >= 3

    await drive(clock, refused_three_times, what="three refused attempts")
    record = await outbox.get(ids[0])
    assert record is not None and record.last_status is None and record.status == "pending"
    assert record.last_error is not None and "Connect" in record.last_error
    assert "s3cr3t" not in record.last_error
    refused = await head_attempts()

    # The receiver comes up on that port, answers 500 twice, then hangs once, then recovers.
    receiver = Receiver(script=[MODE_500, MODE_500, MODE_SLOW])
    await aiohttp_server(receiver.app(), port=unused_tcp_port)
    try:
        await drive(clock, lambda: len(receiver.delivered()) == 3, what="recovery")
    finally:
        receiver.release.set()

    assert receiver.delivered_ids() == ids
    assert [r.id for r in receiver.requests] == [ids[0]] * 4 + ids[1:]
    assert [r.mode for r in receiver.requests[:4]] == [MODE_500, MODE_500, MODE_SLOW, MODE_OK]
    # Same webhook-id on every attempt; a fresh timestamp and signature each time.
    head_requests = receiver.requests[:4]
    assert {r.headers["webhook-id"] for r in head_requests} == {ids[0]}
    stamps = [int(r.headers["webhook-timestamp"]) for r in head_requests]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert len({r.headers["webhook-signature"] for r in head_requests}) == 4
    await eventually(lambda: _settled(outbox, delivered=3), what="every row marked delivered")
    assert await head_attempts() == refused + 4
    assert dispatcher.in_flight == 0


async def test_gone_is_dead_at_once_and_an_operator_retry_sends_it_again(
    outbox: WebhookOutbox,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    aiohttp_client: AiohttpClient,
) -> None:
    receiver.script = [MODE_410]
    dispatcher = await make_dispatcher()
    first, second = await outbox.enqueue_many([("message.receipt", TOKEN, {"n": 1}), ("e", TOKEN, {"n": 2})])
    # The dead head does not block its queue: the next event goes out.
    await eventually(lambda: receiver.delivered_ids() == [second], what="the second event")
    record = await outbox.get(first)
    assert record is not None
    assert (record.status, record.attempts, record.last_status, record.last_error) == (
        "dead",
        1,
        410,
        "HTTP 410",
    )

    app = web.Application(middlewares=[error_envelope_middleware])
    app.router.add_routes(WebhookAdminApi(outbox, dispatcher).routes())
    client = await aiohttp_client(app)
    response = await client.post(f"/webhooks/dead/{first}/retry")
    assert response.status == 200
    await eventually(lambda: receiver.delivered_ids() == [second, first], what="the retried event")
    assert [r.id for r in receiver.requests] == [first, second, first]
    await eventually(lambda: _settled(outbox, delivered=2), what="both delivered")


@pytest.mark.parametrize("mode", [MODE_404, MODE_410])
async def test_non_retryable_4xx_is_not_retried(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock, mode: str
) -> None:
    receiver.default_mode = mode
    await make_dispatcher()
    msg_id = await outbox.enqueue("e", TOKEN, None)
    await eventually(lambda: status_of_is(outbox, msg_id, "dead"), what="the dead mark")
    clock.advance(3600)
    # A later event of the same device goes out only after everything before it: once it was tried,
    # a retry of the first would have come first.
    later = await outbox.enqueue("e", TOKEN, None)
    await eventually(lambda: status_of_is(outbox, later, "dead"), what="the later event tried")
    assert [r.id for r in receiver.requests] == [msg_id, later]


async def test_max_attempts_makes_it_dead(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.script = [MODE_500, MODE_408, MODE_429, MODE_500]
    receiver.retry_after = "1"
    await make_dispatcher(max_attempts=4)
    msg_id = await outbox.enqueue("e", TOKEN, None)

    await drive(clock, lambda: status_of_is(outbox, msg_id, "dead"), what="the dead mark")
    record = await outbox.get(msg_id)
    assert record is not None
    assert (record.attempts, record.last_status) == (4, 500)
    assert record.last_error == "HTTP 500; gave up after 4 attempts"
    assert len(receiver.requests) == 4
    clock.advance(3600)
    # A later event of the same device goes out only after everything before it.
    later = await outbox.enqueue("e", TOKEN, None)
    await eventually(lambda: later in receiver.delivered_ids(), what="the later event")
    assert [r.id for r in receiver.requests] == [msg_id] * 4 + [later]


async def test_max_age_makes_it_dead(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.default_mode = MODE_500
    await make_dispatcher(max_attempts=1000, max_age_s=3600.0)
    msg_id = await outbox.enqueue("e", TOKEN, None)
    started = clock.time()

    await drive(clock, lambda: status_of_is(outbox, msg_id, "dead"), step=300.0, what="the dead mark")
    record = await outbox.get(msg_id)
    assert record is not None
    assert record.last_error is not None and record.last_error.endswith("gave up after 3600 s")
    # The last attempt is made at the deadline, not skipped for overshooting it.
    assert record.updated_at >= started + 3600
    assert record.attempts == len(receiver.requests) >= 3


async def test_redirects_are_not_followed(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.script = [MODE_REDIRECT]
    await make_dispatcher()
    msg_id = await outbox.enqueue("e", TOKEN, None)

    async def redirected() -> bool:
        record = await outbox.get(msg_id)
        return record is not None and record.last_status == 302

    await eventually(redirected, what="the 302 to be recorded")
    record = await outbox.get(msg_id)
    assert record is not None and record.status == "pending"
    assert record.last_error == "HTTP 302 (redirects are not followed)"
    await drive(clock, lambda: receiver.delivered_ids() == [msg_id], what="the retry")
    assert receiver.redirect_hits == 0
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]


async def test_retry_after_is_honoured(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.script = [MODE_429]
    receiver.retry_after = "120"
    dispatcher = await make_dispatcher()
    msg_id = await outbox.enqueue("e", TOKEN, None)
    sent_at = clock.time()

    async def rescheduled() -> bool:
        record = await outbox.get(msg_id)
        return record is not None and record.attempts == 1

    await eventually(rescheduled, what="the 429 to be recorded")
    record = await outbox.get(msg_id)
    assert record is not None
    assert record.next_attempt_at == sent_at + 120
    assert (record.last_status, record.last_error) == (429, "HTTP 429")

    clock.advance(119)
    # Another device's event makes the dispatcher look at the outbox at 119 s; once it went out and
    # nothing is in flight, a retry due that early would have been sent in the same look.
    other = await outbox.enqueue("e", "6289999999", None)
    await eventually(lambda: status_of_is(outbox, other, "delivered"), what="the other device's event")
    await eventually(lambda: dispatcher.in_flight == 0, what="nothing in flight")
    assert [r.id for r in receiver.requests] == [msg_id, other]
    await drive(clock, lambda: msg_id in receiver.delivered_ids(), step=1.0, what="the retry after 120 s")
    assert clock.time() >= sent_at + 120


async def test_retry_after_is_capped(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.script = [MODE_429]
    receiver.retry_after = "86400"
    await make_dispatcher(retry_cap_s=600.0)
    msg_id = await outbox.enqueue("e", TOKEN, None)
    sent_at = clock.time()

    async def rescheduled() -> bool:
        record = await outbox.get(msg_id)
        return record is not None and record.attempts == 1

    await eventually(rescheduled, what="the 429 to be recorded")
    record = await outbox.get(msg_id)
    assert record is not None and record.next_attempt_at == sent_at + 600


async def test_backoff_grows_between_attempts(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    receiver.default_mode = MODE_500
    await make_dispatcher(rng=random.Random(5), max_attempts=1000)
    msg_id = await outbox.enqueue("e", TOKEN, None)
    delays: list[float] = []
    deadline = asyncio.get_running_loop().time() + 20
    while len(delays) < 12:
        assert asyncio.get_running_loop().time() < deadline, f"stuck after {len(delays)} attempts"
        record = await outbox.get(msg_id)
        assert record is not None
        if record.attempts > len(delays):
            delays.append(record.next_attempt_at - record.updated_at)
        # Jump to the scheduled attempt (a little past it, in case the dispatcher's timer started late).
        clock.advance(max(record.next_attempt_at - clock.time(), 0.0) + 0.5)
        # Polling with a deadline while driving the clock: each turn waits for the next attempt, a
        # positive condition; a timer the dispatcher set just before a jump is passed by the next one.
        await asyncio.sleep(0.005)
    ceilings = [min(600.0, 2.0 ** (n - 1)) for n in range(1, 13)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[-3:]) > 16  # later waits reach far beyond the first ceilings


async def test_pending_rows_are_sent_after_a_restart_with_the_same_ids(
    db_path: Path, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.script = [MODE_SLOW]
    first_outbox = WebhookOutbox(db_path, clock=clock)
    await first_outbox.open()
    first = WebhookDispatcher(first_outbox, receiver.url, timeout_s=30.0, clock=clock)
    await first.start()
    ids = await first_outbox.enqueue_many([("e", TOKEN, {"n": n}) for n in range(3)])
    await eventually(lambda: len(receiver.requests) == 1, what="the first send to be in flight")
    # The process goes away while the first event is on the wire.
    await first.stop()
    await first_outbox.close()

    second_outbox = WebhookOutbox(db_path, clock=clock)
    await second_outbox.open()
    second = WebhookDispatcher(second_outbox, receiver.url, timeout_s=30.0, clock=clock)
    await second.start()
    try:
        await eventually(lambda: len(receiver.delivered()) == 3, what="delivery after the restart")
        assert receiver.delivered_ids() == ids
        assert [r.id for r in receiver.requests] == [ids[0], *ids]
        await eventually(lambda: _settled(second_outbox, delivered=3), what="all marked delivered")
    finally:
        await second.stop()
        await second_outbox.close()


async def test_delivered_rows_are_pruned_after_the_retention(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    await make_dispatcher(delivered_retention_s=7200.0, prune_interval_s=3600.0)
    msg_id = await outbox.enqueue("e", TOKEN, None)
    await eventually(lambda: status_of_is(outbox, msg_id, "delivered"), what="the delivery")

    async def pruned() -> bool:
        return await outbox.get(msg_id) is None

    delivered_at = clock.time()
    await drive(clock, pruned, step=1800.0, what="the prune")
    assert clock.time() - delivered_at >= 7200


async def test_the_secret_is_never_logged(
    outbox: WebhookOutbox,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "do-not-log-this-secret"
    receiver.script = [MODE_500, MODE_500]
    receiver.default_mode = MODE_410
    caplog.set_level(logging.DEBUG, logger="wa_gateway")
    await make_dispatcher(secret=secret)
    msg_id = await outbox.enqueue("e", TOKEN, None)
    await drive(clock, lambda: status_of_is(outbox, msg_id, "dead"), what="the dead mark")
    assert caplog.records
    assert not [r for r in caplog.records if secret in r.getMessage()]


async def test_a_custom_session_factory_is_used_and_closed(
    outbox: WebhookOutbox, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    sessions: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        sessions.append(aiohttp.ClientSession(headers={"X-Deployment": "eu-1"}))
        return sessions[-1]

    dispatcher = await make_dispatcher(session_factory=factory)
    await outbox.enqueue("e", TOKEN, None)
    await eventually(lambda: len(receiver.delivered()) == 1, what="the delivery")
    assert receiver.requests[0].headers["X-Deployment"] == "eu-1"
    assert receiver.requests[0].headers["User-Agent"] == f"wa-gateway/{__version__}"
    await dispatcher.stop()
    assert len(sessions) == 1 and sessions[0].closed


def test_a_malformed_whsec_secret_fails_at_construction(outbox: WebhookOutbox) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        WebhookDispatcher(outbox, "http://127.0.0.1:9/hook", secret="whsec_???")
    with pytest.raises(ValueError, match="signature_format"):
        WebhookDispatcher(outbox, "http://127.0.0.1:9/hook", signature_format="base64")  # type: ignore[arg-type]


async def status_of_is(outbox: WebhookOutbox, msg_id: str, status: str) -> bool:
    record = await outbox.get(msg_id)
    return record is not None and record.status == status


async def _settled(outbox: WebhookOutbox, delivered: int) -> bool:
    stats = await outbox.stats()
    return (stats.pending, stats.dead, stats.delivered) == (0, 0, delivered)
