"""How each configuration variable's text is read: the parsers ``config.VARIABLES`` names, and their rules.

A bad value is a ``ConfigError`` naming the variable and what it accepts (docs/go-gateway.md §1).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from typing import Final, TypeVar
from urllib.parse import urlsplit

from wa_gateway.redact import mask_url

T = TypeVar("T")

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


def parse_int(lo: int, hi: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        if not _INT_RE.fullmatch(raw):
            raise ConfigError(f"{name} must be a whole number between {lo} and {hi} (got {raw!r})")
        value = int(raw)
        if not lo <= value <= hi:
            raise ConfigError(f"{name} must be between {lo} and {hi} (got {value})")
        return value

    return parse


def _one_of(table: Mapping[str, T], accepts: str) -> Callable[[str, str], T]:
    """A parser of any case of ``table``'s keys, to their values; ``accepts`` says what else is refused."""

    def parse(name: str, raw: str) -> T:
        low = raw.lower()
        if low not in table:
            raise ConfigError(f"{name} must be {accepts} (got {raw!r})")
        return table[low]

    return parse


parse_bool: Final = _one_of({**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}, "true or false")


def parse_choice(*options: str) -> Callable[[str, str], str]:
    return _one_of({option: option for option in options}, f"one of {', '.join(options)}")


parse_log_level: Final = _one_of(
    {**{level: level for level in LOG_LEVELS}, **GO_LOG_LEVELS}, f"one of {', '.join(LOG_LEVELS)}"
)


def parse_text(name: str, raw: str) -> str:
    return raw


def parse_required_text(name: str, raw: str) -> str:
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


def parse_origins(allow_wildcard_host: bool) -> Callable[[str, str], tuple[str, ...]]:
    def parse(name: str, raw: str) -> tuple[str, ...]:
        entries = [e.strip() for e in raw.split(",") if e.strip()]
        if not entries or "*" in entries:
            return ("*",)
        return tuple(_origin(name, e, allow_wildcard_host=allow_wildcard_host) for e in entries)

    return parse


def parse_country_code(name: str, raw: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,3}", raw):
        raise ConfigError(f"{name} must be 1 to 4 ASCII digits not starting with 0 (got {raw!r})")
    return raw


def _check_url(
    name: str, entry: str, schemes: set[str], accepts: str, *, shown: str, path: bool = True
) -> None:
    """``entry`` has one of ``schemes`` and a host (and, unless ``path``, no path), or the ConfigError says
    ``name`` must be ``accepts``, showing ``shown``."""
    parts = urlsplit(entry)
    if parts.scheme not in schemes or not parts.hostname or (not path and parts.path not in {"", "/"}):
        raise ConfigError(f"{name} must be {accepts} (got {shown!r})")


def parse_webhook_url(name: str, raw: str) -> str:
    if raw:
        _check_url(name, raw, {"http", "https"}, "an http:// or https:// URL", shown=raw)
    return raw


def parse_webhook_secret(name: str, raw: str) -> str:
    if raw:
        # Imported here: the webhooks package pulls in aiohttp, which the CLI must not load before it
        # has checked that this interpreter can run the .pyz at all.
        from wa_gateway.webhooks.signing import standard_webhooks_key

        try:
            standard_webhooks_key(raw)  # a whsec_ secret must carry base64, or no webhook can be signed
        except ValueError as exc:
            raise ConfigError(f"{name} {str(exc).removeprefix('webhook secret ')}") from None
    return raw


def parse_proxies(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
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


def parse_database_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"postgresql", "postgres"} or not (parts.hostname or parts.query):
        raise ConfigError(
            f"{name} must be a postgresql://user:password@host:port/database URL (got {mask_url(raw)!r})"
        )
    return raw


def parse_nats_url(name: str, raw: str) -> str:
    for entry in raw.split(",") if raw else ():
        accepts = "nats://host:port (comma-separated for several)"
        _check_url(name, entry.strip(), {"nats", "tls"}, accepts, shown=mask_url(raw))
    return raw


def parse_node_id(name: str, raw: str) -> str:
    value = raw or socket.gethostname()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
        raise ConfigError(f"{name} must be 1 to 63 letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def parse_node_url(name: str, raw: str) -> str:
    if raw:
        accepts = "the http(s)://host:port other nodes reach this node at"
        _check_url(name, raw, {"http", "https"}, accepts, shown=raw, path=False)
    return raw.rstrip("/")


def parse_device_name(name: str, raw: str) -> str:
    if not _DEVICE_NAME_RE.fullmatch(raw):
        raise ConfigError(f"{name} must look like 'Browser (OS)', e.g. 'Chrome (Linux)' (got {raw!r})")
    return raw
