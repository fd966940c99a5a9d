"""Prometheus metrics at ``GET /metrics`` in the text exposition format, written by hand (no dependency).

Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
Counters are kept in memory and start at zero with the process, as Prometheus expects of counters.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from aiohttp import web

from wa_gateway import __version__, errors, procstats
from wa_gateway.auth import AuthGuard, KeyLookup
from wa_gateway.devices.model import STATUSES
from wa_gateway.route_table import RouteTable, route

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
SEND_ROUTES: Final = frozenset(
    {("POST", "/messages"), ("POST", "/messages/media"), ("POST", "/polls")}
    | {("POST", "/status"), ("POST", "/status/media")}
)
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


# One number each from the worker's heartbeat: (metric, type, help, key in the heartbeat).
ENGINE_FIGURES: Final = (
    (
        "wa_gateway_engine_stuck_threads",
        "gauge",
        "Engine threads a stop could not end (each holds a Go client and a database handle).",
        "stuckThreads",
    ),
    (
        "wa_gateway_engine_recycles_total",
        "counter",
        "Orderly engine worker restarts because engine threads could not be stopped.",
        "recycles",
    ),
    (
        "wa_gateway_engine_watchdog_reconnects_total",
        "counter",
        "Sessions that looked connected but were dead, reconnected by the watchdog.",
        "watchdogReconnects",
    ),
    (
        "wa_gateway_engine_lost_event_sessions_total",
        "counter",
        "Sessions the engine ended because it could not deliver an event (buffered events lost).",
        "lostEventSessions",
    ),
)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1


class Exposition:
    """Accumulates ``# HELP``/``# TYPE`` blocks and samples into the text format."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Labels, float]]) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self._lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def histogram(self, name: str, help_text: str, hist: Histogram) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} histogram")
        for bound, count in zip(hist.buckets, hist.counts, strict=True):
            self._lines.append(f'{name}_bucket{{le="{_number(bound)}"}} {count}')
        self._lines.append(f'{name}_bucket{{le="+Inf"}} {hist.total}')
        self._lines.append(f"{name}_sum {_number(hist.sum)}")
        self._lines.append(f"{name}_count {hist.total}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Metrics:
    """What the gateway counts as it runs; gauges are read from their owners at scrape time."""

    def __init__(self) -> None:
        self.http_requests: Counter[tuple[str, str, str]] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.messages_sent = 0
        self.send_latency = Histogram(LATENCY_BUCKETS)

    def count_event(self, event: str) -> None:
        self.events[event] += 1

    def observe(self, request: web.Request, route: str | None, status: int, seconds: float) -> None:
        """Called by the access-log middleware for every finished request."""
        route = route or "<unmatched>"
        self.http_requests[(request.method, route, str(status))] += 1
        if status == 429:
            self.rate_limited[route] += 1
        if (request.method, route) in SEND_ROUTES and status == 200:
            self.messages_sent += 1
            self.send_latency.observe(seconds)


GaugeSource = Callable[[], Awaitable[dict[str, Any]]]


def _figure(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class MetricsApi(RouteTable):
    def __init__(
        self,
        metrics: Metrics,
        *,
        api_key: str,
        metrics_token: str,
        devices: Callable[[], list[dict[str, Any]]],
        ws_clients: Callable[[], int],
        engine_info: Callable[[], dict[str, Any]],
        engine: str,
        reconnecting: Callable[[], dict[str, dict[str, Any]]] = dict,
        webhook_stats: GaugeSource | None = None,
        webhook_attempts: Callable[[], Counter[str]] | None = None,
        guard: AuthGuard,
        lookup: KeyLookup | None = None,
        cluster_owned: Callable[[], tuple[str, int]] | None = None,
    ) -> None:
        self._metrics = metrics
        self._cluster_owned = cluster_owned
        self._guard = guard
        self._lookup = lookup
        self._keys = tuple(k.encode() for k in (api_key, metrics_token) if k)
        self._devices = devices
        self._ws_clients = ws_clients
        self._engine_info = engine_info
        self._engine = engine
        self._reconnecting = reconnecting
        self._webhook_stats = webhook_stats
        self._webhook_attempts = webhook_attempts

    @route.get("/metrics")
    async def scrape(self, request: web.Request) -> web.Response:
        # The API key or, so that a scraper need not hold the key, METRICS_TOKEN.
        if self._lookup is None:
            self._guard.verify(request, self._keys)
        elif not self._guard.identify(request, self._lookup).is_admin:
            raise errors.ApiError(
                errors.SCOPE_FORBIDDEN, errors.SCOPE_FORBIDDEN.message.format(scope="admin")
            )
        m = self._metrics
        out = Exposition()
        out.metric(
            "wa_gateway_info",
            "gauge",
            "Version and engine.",
            [((("version", __version__), ("engine", self._engine)), 1)],
        )
        counts = Counter(str(d.get("status")) for d in self._devices())
        out.metric(
            "wa_gateway_devices",
            "gauge",
            "Devices by status.",
            [((("status", s),), counts.get(s, 0)) for s in STATUSES],
        )
        out.metric(
            "wa_gateway_messages_sent_total",
            "counter",
            "Messages sent through the API.",
            [((), m.messages_sent)],
        )
        out.metric(
            "wa_gateway_messages_received_total",
            "counter",
            "Messages received by devices.",
            [((), m.events.get("message.received", 0))],
        )
        out.histogram(
            "wa_gateway_send_duration_seconds",
            "Time to answer a send request (typing delay included).",
            m.send_latency,
        )
        out.metric(
            "wa_gateway_events_total",
            "counter",
            "Webhook events emitted, by event.",
            [((("event", e),), n) for e, n in sorted(m.events.items())],
        )
        out.metric(
            "wa_gateway_ws_clients", "gauge", "Authenticated WebSocket clients.", [((), self._ws_clients())]
        )
        info = self._engine_info()
        out.metric(
            "wa_gateway_engine_up",
            "gauge",
            "1 when the engine worker is up.",
            [((), 1 if info.get("state") == "up" else 0)],
        )
        out.metric(
            "wa_gateway_engine_restarts_total",
            "counter",
            "Engine worker restarts.",
            [((), info.get("restarts", 0))],
        )
        self._engine_figures(out, info)
        if self._cluster_owned is not None:
            # Per node, labelled with it: a scrape of every node sums to the cluster (docs/cluster.md).
            node, owned = self._cluster_owned()
            out.metric(
                "wa_gateway_cluster_devices_owned",
                "gauge",
                "Devices whose lease this node holds.",
                [((("node", node),), owned)],
            )
        out.metric(
            "wa_gateway_rate_limited_total",
            "counter",
            "Requests refused by rate limits.",
            [((("route", r),), n) for r, n in sorted(m.rate_limited.items())],
        )
        out.metric(
            "wa_gateway_http_requests_total",
            "counter",
            "HTTP requests by method, route, status.",
            [
                ((("method", k[0]), ("route", k[1]), ("status", k[2])), n)
                for k, n in sorted(m.http_requests.items())
            ],
        )
        if self._webhook_stats is not None:
            stats = await self._webhook_stats()
            for name in ("pending", "delivered", "dead"):
                out.metric(
                    f"wa_gateway_webhooks_{name}", "gauge", f"Webhook events {name}.", [((), stats[name])]
                )
            out.metric(
                "wa_gateway_webhooks_oldest_pending_seconds",
                "gauge",
                "Age of the oldest undelivered webhook event.",
                [((), stats["oldestPendingAgeSeconds"])],
            )
        if self._webhook_attempts is not None:
            attempts = self._webhook_attempts()
            out.metric(
                "wa_gateway_webhook_attempts_total",
                "counter",
                "Webhook delivery attempts by outcome.",
                [((("outcome", o),), attempts.get(o, 0)) for o in ("delivered", "retry", "dead")],
            )
        rss = await asyncio.to_thread(procstats.rss_bytes)
        out.metric(
            "process_resident_memory_bytes", "gauge", "Resident memory of the gateway process.", [((), rss)]
        )
        return web.Response(body=out.text().encode(), headers={"Content-Type": CONTENT_TYPE})

    def _engine_figures(self, out: Exposition, info: dict[str, Any]) -> None:
        """What the engine worker reports with its heartbeat (docs/health.md, "Engine figures")."""
        reconnecting = sorted(self._reconnecting().items())
        out.metric(
            "wa_gateway_device_reconnect_attempts",
            "gauge",
            "Failed connects in a row of devices that are reconnecting.",
            [((("token", token),), _figure(r.get("attempts"))) for token, r in reconnecting],
        )
        out.metric(
            "wa_gateway_device_next_reconnect_timestamp_seconds",
            "gauge",
            "When a reconnecting device tries again (Unix time).",
            [
                ((("token", t),), _figure(r["nextAttemptAt"]))
                for t, r in reconnecting
                if r.get("nextAttemptAt")
            ],
        )
        for name, kind, help_text, key in ENGINE_FIGURES:
            out.metric(name, kind, help_text, [((), _figure(info.get(key)))])
