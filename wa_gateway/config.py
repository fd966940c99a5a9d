"""Configuration: every variable, its default and its accepted range, validated once at startup.

Sources, strongest first: the real environment, then ``./.env`` (python-dotenv). An empty value counts as
unset, as in the Go gateway. A bad value is a ``ConfigError`` naming the variable and what is accepted;
there is no silent fallback to a default (docs/go-gateway.md §1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from dotenv import dotenv_values

from wa_gateway.config_values import (
    ENGINES,
    parse_bool,
    parse_choice,
    parse_country_code,
    parse_database_url,
    parse_device_name,
    parse_int,
    parse_log_level,
    parse_nats_url,
    parse_node_id,
    parse_node_url,
    parse_origins,
    parse_proxies,
    parse_required_text,
    parse_text,
    parse_webhook_secret,
    parse_webhook_url,
)
from wa_gateway.config_values import (
    ConfigError as ConfigError,
)
from wa_gateway.redact import MASK, mask_url


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: str
    parse: Callable[[str, str], Any]
    help: str
    secret: bool = False
    shown: Callable[[str], str] | None = None  # how check-config prints a value that is not a secret


VARIABLES: Final[tuple[Variable, ...]] = (
    Variable("PORT", "4010", parse_int(1, 65535), "Server port"),
    Variable("HOST", "0.0.0.0", parse_text, "Server bind address"),
    Variable(
        "API_KEY", "", parse_required_text, "Required. API key for REST and WebSocket auth", secret=True
    ),
    Variable("LOG_LEVEL", "info", parse_log_level, "debug, info, warn or error"),
    Variable("LOG_FORMAT", "json", parse_choice("json", "text"), "json lines, or text for humans"),
    Variable("CORS_ORIGINS", "*", parse_origins(True), "Allowed CORS origins: * or a comma-separated list"),
    Variable(
        "PHONE_COUNTRY_CODE", "60", parse_country_code, "Country code for numbers written with a leading 0"
    ),
    Variable("PHONE_MIN_LENGTH", "11", parse_int(7, 15), "Minimum phone length, country code included"),
    Variable("PHONE_MAX_LENGTH", "12", parse_int(7, 15), "Maximum phone length, country code included"),
    Variable("DATA_DIR", "./data", parse_text, "Sessions, contacts and the webhook outbox live here"),
    Variable(
        "WA_ENGINE", "neonize", parse_choice(*ENGINES), "neonize (real WhatsApp) or sandbox (simulated)"
    ),
    Variable("DEVICE_NAME", "Chrome (Linux)", parse_device_name, "How the linked device shows on the phone"),
    Variable("TYPING_DELAY_MS", "1000", parse_int(0, 60000), "Typing simulation before each message (ms)"),
    Variable("AUTO_READ_RECEIPT", "false", parse_bool, "Mark incoming messages read"),
    Variable(
        "SEND_PRESENCE_ON_CONNECT", "false", parse_bool, "Appear online after connect (mutes phone alerts)"
    ),
    Variable(
        "WEBHOOK_URL",
        "",
        parse_webhook_url,
        "Where webhook events are POSTed; empty turns webhooks off",
        shown=mask_url,
    ),
    Variable(
        "WEBHOOK_SECRET",
        "",
        parse_webhook_secret,
        "HMAC-SHA256 signing secret (whsec_<base64> or any text)",
        True,
    ),
    Variable("WEBHOOK_TIMEOUT_MS", "5000", parse_int(100, 120000), "Timeout of one webhook request (ms)"),
    Variable("WEBHOOK_MAX_ATTEMPTS", "150", parse_int(1, 10000), "Attempts before an event is dead-lettered"),
    Variable(
        "WEBHOOK_MAX_AGE_SECONDS",
        "259200",
        parse_int(60, 2592000),
        "Age after which an event is dead-lettered",
    ),
    Variable(
        "WEBHOOK_SIGNATURE_FORMAT", "sha256", parse_choice("sha256", "hex"), "X-Webhook-Signature format"
    ),
    Variable(
        "RATE_LIMIT_DEVICES", "10", parse_int(0, 1000000), "Device routes: requests/min per IP (0 = off)"
    ),
    Variable(
        "RATE_LIMIT_MESSAGES", "30", parse_int(0, 1000000), "Message routes: requests/min per IP (0 = off)"
    ),
    Variable(
        "RATE_LIMIT_VALIDATE", "60", parse_int(0, 1000000), "Validate route: requests/min per IP (0 = off)"
    ),
    Variable("RATE_LIMIT_AUTH_FAILURES", "20", parse_int(0, 1000000), "Failed auths/min per IP (0 = off)"),
    Variable("TRUSTED_PROXIES", "", parse_proxies, "Proxies whose X-Forwarded-For is believed (IPs/CIDRs)"),
    Variable("MAX_BODY_BYTES", "4194304", parse_int(1024, 104857600), "Largest accepted request body"),
    Variable("CACHE_TTL_SECONDS", "3600", parse_int(1, 2592000), "Phone validation cache TTL"),
    Variable("WS_ALLOWED_ORIGINS", "*", parse_origins(False), "Allowed WebSocket origins: * or a list"),
    Variable("WS_AUTH_TIMEOUT", "5", parse_int(1, 60), "Seconds to send the first-message auth"),
    Variable("WS_HEARTBEAT_SECONDS", "30", parse_int(5, 300), "WebSocket ping interval"),
    Variable(
        "WS_QUEUE_SIZE", "256", parse_int(8, 100000), "Events queued per WS client before it is dropped"
    ),
    Variable("SHUTDOWN_TIMEOUT_SECONDS", "10", parse_int(1, 300), "Grace period for in-flight requests"),
    Variable(
        "HTTP_HEADER_TIMEOUT_SECONDS", "10", parse_int(1, 3600), "Time for a new connection's first request"
    ),
    Variable("HTTP_IDLE_TIMEOUT_SECONDS", "75", parse_int(1, 86400), "Idle keep-alive connection lifetime"),
    Variable(
        "MESSAGE_CACHE_SIZE",
        "5000",
        parse_int(100, 1000000),
        "Recent messages per device kept to reply/react/edit",
    ),
    Variable(
        "RECONNECT_MAX_BACKOFF_SECONDS",
        "300",
        parse_int(1, 86400),
        "Longest wait between reconnect attempts of a paired device (it retries while its session is valid)",
    ),
    Variable(
        "WATCHDOG_SECONDS",
        "120",
        parse_int(0, 86400),
        "A connected device silent this long with failing keepalives or sends is reconnected (0 = off)",
    ),
    Variable(
        "ENGINE_RECYCLE_STUCK_THREADS",
        "8",
        parse_int(0, 10000),
        "Restart the engine worker in order once this many engine threads could not be stopped (0 = never)",
    ),
    Variable("DASHBOARD_ENABLED", "true", parse_bool, "Serve the browser dashboard at /dashboard"),
    Variable(
        "METRICS_TOKEN", "", parse_text, "Extra bearer token accepted by /metrics (besides API_KEY)", True
    ),
    Variable("SANDBOX_QR_REFRESH_MS", "20000", parse_int(10, 600000), "Sandbox: ms between QR codes"),
    Variable("SANDBOX_QR_CODES", "6", parse_int(1, 100), "Sandbox: QR codes before 'QR code expired'"),
    Variable("SANDBOX_RECONNECT_MS", "1000", parse_int(0, 600000), "Sandbox: reconnect delay after a drop"),
    # Defaults: WhatsApp's published media limits (Business Platform "Supported media types"); 2 GiB is
    # the most WhatsApp accepts for any file.
    Variable("MEDIA_MAX_IMAGE_BYTES", "5242880", parse_int(1, 2147483648), "Largest image to send (bytes)"),
    Variable("MEDIA_MAX_VIDEO_BYTES", "16777216", parse_int(1, 2147483648), "Largest video to send (bytes)"),
    Variable(
        "MEDIA_MAX_AUDIO_BYTES", "16777216", parse_int(1, 2147483648), "Largest audio/voice note (bytes)"
    ),
    Variable("MEDIA_MAX_DOCUMENT_BYTES", "104857600", parse_int(1, 2147483648), "Largest document (bytes)"),
    Variable("MEDIA_MAX_STICKER_BYTES", "512000", parse_int(1, 2147483648), "Largest sticker (bytes)"),
    Variable("MEDIA_URL_TIMEOUT_SECONDS", "60", parse_int(1, 3600), "Time allowed to download a media url"),
    Variable(
        "MEDIA_ALLOW_PRIVATE_URLS", "false", parse_bool, "Let media urls reach private/loopback addresses"
    ),
    Variable(
        "MEDIA_RETENTION_SECONDS", "3600", parse_int(1, 2592000), "How long downloaded media stays on disk"
    ),
    Variable(
        "MESSAGE_RETENTION_DAYS",
        "30",
        parse_int(0, 36500),
        "Days stored messages are kept (0 = no message store)",
    ),
    Variable("AUTO_REJECT_CALLS", "false", parse_bool, "Reject incoming WhatsApp calls"),
    Variable(
        "AUTO_REJECT_CALLS_MESSAGE", "", parse_text, "Text sent to a caller after an automatic rejection"
    ),
    Variable(
        "WEBHOOK_GLOBAL",
        "true",
        parse_bool,
        "false: devices with their own webhook are left out of WEBHOOK_URL",
    ),
    Variable(
        "WEBHOOK_ALLOW_PRIVATE_URLS",
        "false",
        parse_bool,
        "Let scoped keys set device webhooks to private addresses",
    ),
    Variable(
        "DATABASE_URL",
        "",
        parse_database_url,
        "postgresql://… moves durable state to PostgreSQL, shared by every node (empty: sqlite in DATA_DIR)",
        secret=True,
    ),
    Variable(
        "DATABASE_POOL_SIZE", "10", parse_int(2, 500), "Most PostgreSQL connections this node's gateway opens"
    ),
    Variable("NODE_ID", "", parse_node_id, "This node's name in a cluster (default: the hostname)"),
    Variable(
        "NODE_URL", "", parse_node_url, "How the other nodes reach this node's API, e.g. http://10.0.0.2:4010"
    ),
    Variable(
        "CLUSTER_SECRET",
        "",
        parse_text,
        "Shared by the nodes: authenticates requests forwarded between them",
        True,
    ),
    Variable(
        "LEASE_TTL_SECONDS", "15", parse_int(3, 3600), "A dead node's devices are taken over after this long"
    ),
    Variable(
        "NATS_URL",
        "",
        parse_nats_url,
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
