"""Delivers the outbox to WEBHOOK_URL: at least once, in order per device, with backoff and dead letters."""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp

from wa_gateway import __version__
from wa_gateway.clock import Clock, SystemClock
from wa_gateway.redact import mask_url
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.records import OutboxMessage
from wa_gateway.webhooks.retry_policy import (
    RETRY_BASE_S,
    RETRY_CAP_S,
    Verdict,
    backoff_delay,
    classify,
    parse_retry_after,
)
from wa_gateway.webhooks.signing import (
    SIGNATURE_FORMATS,
    SignatureFormat,
    signature_headers,
    standard_webhooks_key,
)

log = logging.getLogger("wa_gateway.webhooks")

DEFAULT_USER_AGENT: Final = f"wa-gateway/{__version__}"
DEFAULT_CONCURRENCY: Final = 8
# The wake-up after enqueue is immediate (notify); this poll only catches retries coming due.
POLL_INTERVAL_S: Final = 5.0
PRUNE_INTERVAL_S: Final = 3600.0
DELIVERED_RETENTION_S: Final = 3 * 86400.0
# A response body this small is read so the keep-alive connection can be reused; larger ones are dropped.
_DRAIN_MAX_BYTES: Final = 64 * 1024
# After an unexpected internal error, the token waits this long before its head is tried again.
_INTERNAL_ERROR_PAUSE_S: Final = 5.0

SessionFactory = Callable[[], aiohttp.ClientSession]


@dataclass(frozen=True, slots=True)
class _Attempt:
    http_status: int | None
    error: str | None
    retry_after: str | None


class WebhookDispatcher:
    """Sends pending outbox rows, at most one in flight per token and ``concurrency`` in all.

    The outbox's per-token queue head is the only row of a token ever sent, and it stays the head
    until it is delivered or dead: that is the whole ordering guarantee, and it holds across
    restarts because it lives in the store, not in memory.
    """

    def __init__(
        self,
        outbox: WebhookOutbox,
        url: str,
        secret: str = "",
        signature_format: SignatureFormat = "sha256",
        timeout_s: float = 5.0,
        max_attempts: int = 15,
        max_age_s: float = 259200.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Clock | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        session_factory: SessionFactory | None = None,
        *,
        retry_base_s: float = RETRY_BASE_S,
        retry_cap_s: float = RETRY_CAP_S,
        poll_interval_s: float = POLL_INTERVAL_S,
        prune_interval_s: float = PRUNE_INTERVAL_S,
        delivered_retention_s: float = DELIVERED_RETENTION_S,
        rng: random.Random | None = None,
    ) -> None:
        if signature_format not in SIGNATURE_FORMATS:
            raise ValueError(f"signature_format must be one of {', '.join(SIGNATURE_FORMATS)}")
        if secret:
            standard_webhooks_key(secret)  # a malformed whsec_ secret fails here, not on every send
        if timeout_s <= 0 or max_attempts < 1 or max_age_s <= 0 or concurrency < 1:
            raise ValueError("timeout_s, max_attempts, max_age_s and concurrency must be positive")
        self._outbox = outbox
        self._url = url
        self._proxy = _proxy_for(url)
        self._secret = secret
        self._signature_format = signature_format
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._max_age_s = max_age_s
        self._concurrency = concurrency
        self._clock: Clock = clock or SystemClock()
        self._base_headers = {"Content-Type": "application/json", "User-Agent": user_agent}
        self._session_factory = session_factory
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._poll_interval_s = poll_interval_s
        self._prune_interval_s = prune_interval_s
        self._delivered_retention_s = delivered_retention_s
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        # Delivery attempts by outcome ("delivered", "retry", "dead"), for /metrics.
        self.attempts: collections.Counter[str] = collections.Counter()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def start(self) -> None:
        if self._session is not None:
            raise RuntimeError("webhook dispatcher already started")
        self._session = self._new_session()
        self._outbox.add_listener(self.notify)
        self._wake.set()  # pending rows left by a previous run go out at once
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="webhook-dispatch"),
            asyncio.create_task(self._prune_loop(), name="webhook-prune"),
        ]

    async def stop(self) -> None:
        """Stop sending. A delivery cut short stays pending and is sent again on the next start."""
        self._outbox.remove_listener(self.notify)
        tasks = [*self._tasks, *self._in_flight.values()]
        self._tasks = []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._in_flight.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def notify(self) -> None:
        """Something was enqueued or retried: look at the outbox now instead of at the next poll."""
        self._wake.set()

    def _new_session(self) -> aiohttp.ClientSession:
        if self._session_factory is not None:
            return self._session_factory()
        # HTTP(S)_PROXY is honoured, as the Go gateway's client does, but looked up once (see
        # _proxy_for): trust_env=True would re-read the environment and ~/.netrc on every delivery.
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency), timeout=self._timeout
        )

    # --- scheduling -------------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._dispatch_due()
            except Exception:
                log.exception("webhook dispatcher could not read the outbox")
                delay = self._poll_interval_s
            await self._wait(delay)

    async def _dispatch_due(self) -> float:
        """Start sending every due queue head there is room for; returns how long to wait then."""
        free = self._concurrency - len(self._in_flight)
        if free > 0:
            for message in await self._outbox.due(free, skip_tokens=set(self._in_flight)):
                task = asyncio.create_task(self._deliver(message), name=f"webhook-{message.id}")
                self._in_flight[message.token] = task
        if len(self._in_flight) >= self._concurrency:
            return self._poll_interval_s  # a finishing delivery wakes the loop
        # Time moves on while we query: a head that fell due meanwhile gives a zero wait, not a poll.
        next_due_at = await self._outbox.next_due_at(skip_tokens=set(self._in_flight))
        if next_due_at is None:
            return self._poll_interval_s
        return min(self._poll_interval_s, max(0.0, next_due_at - self._clock.time()))

    async def _wait(self, delay: float) -> None:
        if self._wake.is_set():
            return
        if delay <= 0:
            await asyncio.sleep(0)
            return
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(self._clock.sleep(delay))]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _prune_loop(self) -> None:
        while True:
            try:
                removed = await self._outbox.prune_delivered(self._delivered_retention_s)
                if removed:
                    log.info("pruned %d delivered webhooks", removed)
            except Exception:
                log.exception("pruning delivered webhooks failed")
            await self._clock.sleep(self._prune_interval_s)

    # --- one delivery -----------------------------------------------------------------------------

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            attempt = await self._post(message)
            await self._record(message, attempt)
        except Exception:
            log.exception("webhook %s: unexpected error; it stays pending", message.id)
            await self._clock.sleep(_INTERNAL_ERROR_PAUSE_S)
        finally:
            if self._in_flight.get(message.token) is asyncio.current_task():
                del self._in_flight[message.token]
            self._wake.set()

    async def _post(self, message: OutboxMessage) -> _Attempt:
        session = self._session
        if session is None:
            raise RuntimeError("webhook dispatcher is not started")
        headers = dict(self._base_headers)
        headers.update(
            signature_headers(
                self._secret, self._signature_format, message.id, int(self._clock.time()), message.body
            )
        )
        try:
            async with session.post(
                self._url,
                data=message.body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
                proxy=self._proxy,
            ) as response:
                length = response.content_length
                if length is not None and length <= _DRAIN_MAX_BYTES:
                    await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            return _Attempt(None, f"timed out after {self._timeout_s:g} s", None)
        except aiohttp.ClientError as exc:
            return _Attempt(None, self._describe(exc), None)
        if 300 <= status < 400:
            return _Attempt(status, f"HTTP {status} (redirects are not followed)", retry_after)
        return _Attempt(status, None if 200 <= status < 300 else f"HTTP {status}", retry_after)

    async def _record(self, message: OutboxMessage, attempt: _Attempt) -> None:
        verdict = classify(attempt.http_status)
        self.attempts[verdict.value] += 1
        if verdict is Verdict.DELIVERED and attempt.http_status is not None:
            await self._outbox.mark_delivered(message.id, attempt.http_status)
            log.debug("webhook %s (%s) delivered", message.id, message.event)
            return
        error = attempt.error or "failed"
        failures = message.attempts + 1
        now = self._clock.time()
        deadline = message.window_start + self._max_age_s
        if verdict is Verdict.RETRY and failures >= self._max_attempts:
            verdict, error = Verdict.DEAD, f"{error}; gave up after {failures} attempts"
        elif verdict is Verdict.RETRY and now >= deadline:
            verdict, error = Verdict.DEAD, f"{error}; gave up after {self._max_age_s:g} s"
        if verdict is Verdict.DEAD:
            await self._outbox.mark_dead(message.id, error, attempt.http_status)
            log.error(
                "webhook %s (%s, token %s) is dead: %s", message.id, message.event, message.token, error
            )
            return
        delay = self._retry_delay(failures, attempt.retry_after, now)
        # The last attempt lands on the deadline rather than being skipped for overshooting it.
        next_attempt_at = min(now + delay, deadline)
        await self._outbox.reschedule(message.id, next_attempt_at, error, attempt.http_status)
        log.warning(
            "webhook %s (%s, token %s) attempt %d failed: %s; next in %.1f s",
            message.id,
            message.event,
            message.token,
            failures,
            error,
            next_attempt_at - now,
        )

    def _retry_delay(self, failures: int, retry_after: str | None, now: float) -> float:
        requested = parse_retry_after(retry_after, now)
        if requested is not None:
            # Honour the receiver (Standard Webhooks "Deliverability"), within our own cap.
            return min(requested, self._retry_cap_s)
        return backoff_delay(failures, self._rng, self._retry_base_s, self._retry_cap_s)

    def _describe(self, exc: aiohttp.ClientError) -> str:
        return self._describe_error(self._url, exc)

    @staticmethod
    def _describe_error(url: str, exc: aiohttp.ClientError) -> str:
        # The URL may carry credentials in its query string: shown masked, as check-config shows it.
        return f"{type(exc).__name__}: {exc}".replace(url, mask_url(url))


def _proxy_for(url: str) -> str | None:
    """The proxy HTTP(S)_PROXY / NO_PROXY choose for the webhook URL, as curl and Go would."""
    parts = urlsplit(url)
    if parts.hostname is None or proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme)
