"""Configuration: every variable, its default and its accepted range, validated once at startup.

Sources, strongest first: the real environment, then ``./.env`` (python-dotenv). An empty value counts as
unset, as in the Go gateway. A bad value is a ``ConfigError`` naming the variable and what is accepted;
there is no silent fallback to a default (docs/go-gateway.md §1).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from dotenv import dotenv_values

from wa_gateway.redact import MASK, mask_url

_INT_RE = re.compile(r"[+-]?[0-9]+")
_TRUE: Final = frozenset({"1", "t", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "f", "false", "no", "off"})
LOG_LEVELS: Final = ("debug", "info", "warn", "warning", "error")
# Levels only the Go gateway (zerolog) knew, read as the nearest of ours (docs/dropin.md): "disabled"
# still lets a critical start-up failure through.
GO_LOG_LEVELS: Final = {"trace": "debug", "fatal": "critical", "panic": "critical", "disabled": "critical"}
ENGINES: Final = ("neonize", "sandbox")
# whatsmeow validates the pairing display name as "Browser (OS)" (docs/go-gateway.md §6).
_DEVICE_NAME_RE = re.compile(r"[^()\s][^()]{0,40} \([^()\s][^()]{0,40}\)")


class ConfigError(ValueError):
    """One line naming the variable and what it accepts."""


def _int(lo: int, hi: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        if not _INT_RE.fullmatch(raw):
            raise ConfigError(f"{name} must be a whole number between {lo} and {hi} (got {raw!r})")
        value = int(raw)
        if not lo <= value <= hi:
            raise ConfigError(f"{name} must be between {lo} and {hi} (got {value})")
        return value

    return parse


def _bool(name: str, raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (got {raw!r})")


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        low = raw.lower()
        if low not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)} (got {raw!r})")
        return low

    return parse


def _log_level(name: str, raw: str) -> str:
    low = raw.lower()
    if low in GO_LOG_LEVELS:
        return GO_LOG_LEVELS[low]
    return _choice(*LOG_LEVELS)(name, raw)


def _text(name: str, raw: str) -> str:
    return raw


def _required_text(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name} is required (set it in the environment or .env; `init` writes one)")
    return raw


def _origin(name: str, entry: str, *, allow_wildcard_host: bool) -> str:
    parts = urlsplit(entry)
    host = parts.hostname or ""
    valid = (
        parts.scheme in {"http", "https"}
        and bool(host)
        and parts.path in {"", "/"}
        and not parts.query
        and not parts.fragment
        and parts.username is None
    )
    if valid and host.startswith("*.") and not allow_wildcard_host:
        valid = False
    if valid:
        try:
            _ = parts.port
        except ValueError:
            valid = False
    if not valid:
        raise ConfigError(
            f"{name} must be * or a comma-separated list of origins like https://app.example.com "
            f"(scheme://host[:port], no path) (got {entry!r})"
        )
    return entry.rstrip("/").lower()


def _origins(allow_wildcard_host: bool) -> Callable[[str, str], tuple[str, ...]]:
    def parse(name: str, raw: str) -> tuple[str, ...]:
        entries = [e.strip() for e in raw.split(",") if e.strip()]
        if not entries or "*" in entries:
            return ("*",)
        return tuple(_origin(name, e, allow_wildcard_host=allow_wildcard_host) for e in entries)

    return parse


def _country_code(name: str, raw: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,3}", raw):
        raise ConfigError(f"{name} must be 1 to 4 ASCII digits not starting with 0 (got {raw!r})")
    return raw


def _webhook_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL (got {raw!r})")
    return raw


def _webhook_secret(name: str, raw: str) -> str:
    if raw:
        # Imported here: the webhooks package pulls in aiohttp, which the CLI must not load before it
        # has checked that this interpreter can run the .pyz at all.
        from wa_gateway.webhooks.signing import standard_webhooks_key

        try:
            standard_webhooks_key(raw)  # a whsec_ secret must carry base64, or no webhook can be signed
        except ValueError as exc:
            raise ConfigError(f"{name} {str(exc).removeprefix('webhook secret ')}") from None
    return raw


def _proxies(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} must be a comma-separated list of IP addresses or CIDR ranges (got {entry!r})"
            ) from None
    return tuple(nets)


def _database_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"postgresql", "postgres"} or not (parts.hostname or parts.query):
        raise ConfigError(
            f"{name} must be a postgresql://user:password@host:port/database URL (got {mask_url(raw)!r})"
        )
    return raw


def _nats_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    for entry in raw.split(","):
        parts = urlsplit(entry.strip())
        if parts.scheme not in {"nats", "tls"} or not parts.hostname:
            raise ConfigError(
                f"{name} must be nats://host:port (comma-separated for several) (got {mask_url(raw)!r})"
            )
    return raw


def _node_id(name: str, raw: str) -> str:
    value = raw or socket.gethostname()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
        raise ConfigError(f"{name} must be 1 to 63 letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def _node_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise ConfigError(
            f"{name} must be the http(s)://host:port other nodes reach this node at (got {raw!r})"
        )
    return raw.rstrip("/")


def _device_name(name: str, raw: str) -> str:
    if not _DEVICE_NAME_RE.fullmatch(raw):
        raise ConfigError(f"{name} must look like 'Browser (OS)', e.g. 'Chrome (Linux)' (got {raw!r})")
    return raw


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: str
    parse: Callable[[str, str], Any]
    help: str
    secret: bool = False
    shown: Callable[[str], str] | None = None  # how check-config prints a value that is not a secret


VARIABLES: Final[tuple[Variable, ...]] = (
    Variable("PORT", "4010", _int(1, 65535), "Server port"),
    Variable("HOST", "0.0.0.0", _text, "Server bind address"),
    Variable("API_KEY", "", _required_text, "Required. API key for REST and WebSocket auth", secret=True),
    Variable("LOG_LEVEL", "info", _log_level, "debug, info, warn or error"),
    Variable("LOG_FORMAT", "json", _choice("json", "text"), "json lines, or text for humans"),
    Variable("CORS_ORIGINS", "*", _origins(True), "Allowed CORS origins: * or a comma-separated list"),
    Variable("PHONE_COUNTRY_CODE", "60", _country_code, "Country code for numbers written with a leading 0"),
    Variable("PHONE_MIN_LENGTH", "11", _int(7, 15), "Minimum phone length, country code included"),
    Variable("PHONE_MAX_LENGTH", "12", _int(7, 15), "Maximum phone length, country code included"),
    Variable("DATA_DIR", "./data", _text, "Sessions, contacts and the webhook outbox live here"),
    Variable("WA_ENGINE", "neonize", _choice(*ENGINES), "neonize (real WhatsApp) or sandbox (simulated)"),
    Variable("DEVICE_NAME", "Chrome (Linux)", _device_name, "How the linked device shows on the phone"),
    Variable("TYPING_DELAY_MS", "1000", _int(0, 60000), "Typing simulation before each message (ms)"),
    Variable("AUTO_READ_RECEIPT", "false", _bool, "Mark incoming messages read"),
    Variable("SEND_PRESENCE_ON_CONNECT", "false", _bool, "Appear online after connect (mutes phone alerts)"),
    Variable(
        "WEBHOOK_URL",
        "",
        _webhook_url,
        "Where webhook events are POSTed; empty turns webhooks off",
        shown=mask_url,
    ),
    Variable(
        "WEBHOOK_SECRET", "", _webhook_secret, "HMAC-SHA256 signing secret (whsec_<base64> or any text)", True
    ),
    Variable("WEBHOOK_TIMEOUT_MS", "5000", _int(100, 120000), "Timeout of one webhook request (ms)"),
    Variable("WEBHOOK_MAX_ATTEMPTS", "150", _int(1, 10000), "Attempts before an event is dead-lettered"),
    Variable(
        "WEBHOOK_MAX_AGE_SECONDS", "259200", _int(60, 2592000), "Age after which an event is dead-lettered"
    ),
    Variable("WEBHOOK_SIGNATURE_FORMAT", "sha256", _choice("sha256", "hex"), "X-Webhook-Signature format"),
    Variable("RATE_LIMIT_DEVICES", "10", _int(0, 1000000), "Device routes: requests/min per IP (0 = off)"),
    Variable("RATE_LIMIT_MESSAGES", "30", _int(0, 1000000), "Message routes: requests/min per IP (0 = off)"),
    Variable("RATE_LIMIT_VALIDATE", "60", _int(0, 1000000), "Validate route: requests/min per IP (0 = off)"),
    Variable("RATE_LIMIT_AUTH_FAILURES", "20", _int(0, 1000000), "Failed auths/min per IP (0 = off)"),
    Variable("TRUSTED_PROXIES", "", _proxies, "Proxies whose X-Forwarded-For is believed (IPs/CIDRs)"),
    Variable("MAX_BODY_BYTES", "4194304", _int(1024, 104857600), "Largest accepted request body"),
    Variable("CACHE_TTL_SECONDS", "3600", _int(1, 2592000), "Phone validation cache TTL"),
    Variable("WS_ALLOWED_ORIGINS", "*", _origins(False), "Allowed WebSocket origins: * or a list"),
    Variable("WS_AUTH_TIMEOUT", "5", _int(1, 60), "Seconds to send the first-message auth"),
    Variable("WS_HEARTBEAT_SECONDS", "30", _int(5, 300), "WebSocket ping interval"),
    Variable("WS_QUEUE_SIZE", "256", _int(8, 100000), "Events queued per WS client before it is dropped"),
    Variable("SHUTDOWN_TIMEOUT_SECONDS", "10", _int(1, 300), "Grace period for in-flight requests"),
    Variable("HTTP_HEADER_TIMEOUT_SECONDS", "10", _int(1, 3600), "Time for a new connection's first request"),
    Variable("HTTP_IDLE_TIMEOUT_SECONDS", "75", _int(1, 86400), "Idle keep-alive connection lifetime"),
    Variable(
        "MESSAGE_CACHE_SIZE",
        "5000",
        _int(100, 1000000),
        "Recent messages per device kept to reply/react/edit",
    ),
    Variable(
        "RECONNECT_MAX_BACKOFF_SECONDS",
        "300",
        _int(1, 86400),
        "Longest wait between reconnect attempts of a paired device (it retries while its session is valid)",
    ),
    Variable(
        "WATCHDOG_SECONDS",
        "120",
        _int(0, 86400),
        "A connected device silent this long with failing keepalives or sends is reconnected (0 = off)",
    ),
    Variable(
        "ENGINE_RECYCLE_STUCK_THREADS",
        "8",
        _int(0, 10000),
        "Restart the engine worker in order once this many engine threads could not be stopped (0 = never)",
    ),
    Variable("DASHBOARD_ENABLED", "true", _bool, "Serve the browser dashboard at /dashboard"),
    Variable("METRICS_TOKEN", "", _text, "Extra bearer token accepted by /metrics (besides API_KEY)", True),
    Variable("SANDBOX_QR_REFRESH_MS", "20000", _int(10, 600000), "Sandbox: ms between QR codes"),
    Variable("SANDBOX_QR_CODES", "6", _int(1, 100), "Sandbox: QR codes before 'QR code expired'"),
    Variable("SANDBOX_RECONNECT_MS", "1000", _int(0, 600000), "Sandbox: reconnect delay after a drop"),
    # Defaults: WhatsApp's published media limits (Business Platform "Supported media types"); 2 GiB is
    # the most WhatsApp accepts for any file.
    Variable("MEDIA_MAX_IMAGE_BYTES", "5242880", _int(1, 2147483648), "Largest image to send (bytes)"),
    Variable("MEDIA_MAX_VIDEO_BYTES", "16777216", _int(1, 2147483648), "Largest video to send (bytes)"),
    Variable("MEDIA_MAX_AUDIO_BYTES", "16777216", _int(1, 2147483648), "Largest audio/voice note (bytes)"),
    Variable("MEDIA_MAX_DOCUMENT_BYTES", "104857600", _int(1, 2147483648), "Largest document (bytes)"),
    Variable("MEDIA_MAX_STICKER_BYTES", "512000", _int(1, 2147483648), "Largest sticker (bytes)"),
    Variable("MEDIA_URL_TIMEOUT_SECONDS", "60", _int(1, 3600), "Time allowed to download a media url"),
    Variable("MEDIA_ALLOW_PRIVATE_URLS", "false", _bool, "Let media urls reach private/loopback addresses"),
    Variable("MEDIA_RETENTION_SECONDS", "3600", _int(1, 2592000), "How long downloaded media stays on disk"),
    Variable(
        "MESSAGE_RETENTION_DAYS", "30", _int(0, 36500), "Days stored messages are kept (0 = no message store)"
    ),
    Variable("AUTO_REJECT_CALLS", "false", _bool, "Reject incoming WhatsApp calls"),
    Variable("AUTO_REJECT_CALLS_MESSAGE", "", _text, "Text sent to a caller after an automatic rejection"),
    Variable(
        "WEBHOOK_GLOBAL", "true", _bool, "false: devices with their own webhook are left out of WEBHOOK_URL"
    ),
    Variable(
        "WEBHOOK_ALLOW_PRIVATE_URLS",
        "false",
        _bool,
        "Let scoped keys set device webhooks to private addresses",
    ),
    Variable(
        "DATABASE_URL",
        "",
        _database_url,
        "postgresql://… moves durable state to PostgreSQL, shared by every node (empty: sqlite in DATA_DIR)",
        secret=True,
    ),
    Variable(
        "DATABASE_POOL_SIZE", "10", _int(2, 500), "Most PostgreSQL connections this node's gateway opens"
    ),
    Variable("NODE_ID", "", _node_id, "This node's name in a cluster (default: the hostname)"),
    Variable(
        "NODE_URL", "", _node_url, "How the other nodes reach this node's API, e.g. http://10.0.0.2:4010"
    ),
    Variable(
        "CLUSTER_SECRET",
        "",
        _text,
        "Shared by the nodes: authenticates requests forwarded between them",
        True,
    ),
    Variable(
        "LEASE_TTL_SECONDS", "15", _int(3, 3600), "A dead node's devices are taken over after this long"
    ),
    Variable(
        "NATS_URL",
        "",
        _nats_url,
        "nats://… publishes every committed event to the JetStream stream WA_EVENTS",
        shown=mask_url,
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    port: int
    host: str
    api_key: str
    log_level: str
    log_format: str
    cors_origins: tuple[str, ...]
    phone_country_code: str
    phone_min_length: int
    phone_max_length: int
    data_dir: Path
    wa_engine: str
    device_name: str
    typing_delay_ms: int
    auto_read_receipt: bool
    send_presence_on_connect: bool
    webhook_url: str
    webhook_secret: str
    webhook_timeout_ms: int
    webhook_max_attempts: int
    webhook_max_age_seconds: int
    webhook_signature_format: str
    rate_limit_devices: int
    rate_limit_messages: int
    rate_limit_validate: int
    rate_limit_auth_failures: int
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    max_body_bytes: int
    cache_ttl_seconds: int
    ws_allowed_origins: tuple[str, ...]
    ws_auth_timeout: int
    ws_heartbeat_seconds: int
    ws_queue_size: int
    shutdown_timeout_seconds: int
    http_header_timeout_seconds: int
    http_idle_timeout_seconds: int
    message_cache_size: int
    reconnect_max_backoff_seconds: int
    watchdog_seconds: int
    engine_recycle_stuck_threads: int
    dashboard_enabled: bool
    metrics_token: str
    sandbox_qr_refresh_ms: int
    sandbox_qr_codes: int
    sandbox_reconnect_ms: int
    media_max_image_bytes: int
    media_max_video_bytes: int
    media_max_audio_bytes: int
    media_max_document_bytes: int
    media_max_sticker_bytes: int
    media_url_timeout_seconds: int
    media_allow_private_urls: bool
    media_retention_seconds: int
    auto_reject_calls: bool
    auto_reject_calls_message: str
    webhook_global: bool = True
    webhook_allow_private_urls: bool = False
    database_url: str = ""
    database_pool_size: int = 10
    node_id: str = "local"
    node_url: str = ""
    cluster_secret: str = ""
    lease_ttl_seconds: int = 15
    nats_url: str = ""
    message_retention_days: int = 30

    def describe(self) -> dict[str, str]:
        """The effective configuration as environment-style text, secrets masked (for ``check-config``)."""
        out: dict[str, str] = {}
        for var in VARIABLES:
            value = getattr(self, var.name.lower())
            if var.secret and value:
                out[var.name] = MASK
            elif var.shown is not None and value:
                out[var.name] = var.shown(value)
            elif isinstance(value, tuple):
                out[var.name] = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                out[var.name] = "true" if value else "false"
            else:
                out[var.name] = str(value)
        return out


def read_environment(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> dict[str, str]:
    """Merge ``.env`` under the real environment (the real environment wins; empty counts as unset)."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v})
    merged.update({k: v for k, v in environ.items() if v})
    return merged


def load_settings(values: Mapping[str, str]) -> Settings:
    """Parse and validate; raises ``ConfigError`` on the first bad variable (in table order)."""
    parsed: dict[str, Any] = {}
    for var in VARIABLES:
        raw = values.get(var.name, "")
        parsed[var.name.lower()] = var.parse(var.name, raw if raw != "" else var.default)
    if parsed["phone_min_length"] > parsed["phone_max_length"]:
        raise ConfigError(
            "PHONE_MIN_LENGTH must not be greater than PHONE_MAX_LENGTH "
            f"(got {parsed['phone_min_length']} > {parsed['phone_max_length']})"
        )
    parsed["data_dir"] = Path(parsed["data_dir"])
    names = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in parsed.items() if k in names})
