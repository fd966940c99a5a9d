"""Downloading a media ``url`` for an outgoing message, safely.

A gateway that fetches URLs for its callers is a classic SSRF vector, so: http(s) only; every address a
host name resolves to must be public (and the connection goes to exactly those vetted addresses, so a DNS
answer cannot change between the check and the connect); redirects are followed by hand, at most
``MAX_REDIRECTS``, each hop checked again; a total timeout; a byte cap enforced while streaming; no proxy
from the environment. ``MEDIA_ALLOW_PRIVATE_URLS=true`` lifts the address rule (a LAN media server).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from wa_gateway.media.spool import MediaFile, MediaTooLarge, Spool

MAX_REDIRECTS: Final = 5
READ_CHUNK: Final = 64 * 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IpAddress], bool]


# IPv6 ranges that carry an IPv4 address inside, and where (docs/hostile-input.md): a NAT64 gateway or
# a dual stack turns them into a connection to that IPv4 address, so it is the one that must be public.
_NAT64_WELL_KNOWN: Final = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 §2.1
_NAT64_LOCAL_USE: Final = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215
_IPV4_COMPATIBLE: Final = ipaddress.ip_network("::/96")  # RFC 4291 §2.5.5.1
_IPV4_TRANSLATED: Final = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 §2.1
# RFC 6052 §2.2: where the 32 IPv4 bits sit for each prefix length a local-use NAT64 may be given
# (bits 64-71, the "u" octet, are never used); a local-use address is allowed only if every reading is.
_RFC6052_LAYOUTS: Final = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    packed = address.packed
    if address in _NAT64_LOCAL_USE:
        return [ipaddress.IPv4Address(bytes(packed[i] for i in at)) for at in _RFC6052_LAYOUTS.values()]
    if address in _NAT64_WELL_KNOWN or address in _IPV4_TRANSLATED:
        return [ipaddress.IPv4Address(packed[12:])]
    # :: and ::1 are in ::/96 too, but are IPv6 addresses in their own right (refused as such below).
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return [ipaddress.IPv4Address(packed[12:])]
    embedded = address.ipv4_mapped or address.sixtofour
    return [embedded] if embedded is not None else []


def public_only(address: IpAddress) -> bool:
    """Global unicast only: no loopback, private, link-local, CGNAT, multicast, reserved or unspecified,
    also when an IPv4 address hides inside an IPv6 one (NAT64, IPv4-compatible/mapped/translated, 6to4)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(public_only(v4) for v4 in embedded)
        if address.is_site_local:  # fec0::/10, deprecated by RFC 3879 but never global
            return False
    return address.is_global and not address.is_multicast


def any_address(address: IpAddress) -> bool:
    return True


class UrlInvalid(Exception):
    """Not an http(s) URL with a host (or an IP address written in a non-canonical form)."""


class UrlNotAllowed(Exception):
    """The URL's host is, or resolves to, an address the policy refuses."""


class UrlFetchFailed(Exception):
    """The download failed; ``reason`` is short, safe to show, and names no internal address."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _VettingResolver(AbstractResolver):
    """Resolves with the system resolver and refuses the host when any of its addresses is refused."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._system = ThreadedResolver()
        self.refused = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._system.resolve(host, port, family)
        for result in results:
            if not self._policy(ipaddress.ip_address(result["host"])):
                self.refused = True
                raise OSError(f"{host} resolves to a refused address")
        return results

    async def close(self) -> None:
        await self._system.close()


def parse_url(raw: str, base: URL | None = None) -> URL:
    """``raw`` (relative to ``base``) as a URL whose host and port are valid; ValueError otherwise.

    yarl parses lazily: an unclosed ``[``, a port past 65535 or a bad IDNA label (``xn--``) only raise
    when the host or port is read, which must not happen first inside the HTTP client."""
    url = URL(raw) if base is None else base.join(URL(raw))
    _ = (url.host, url.raw_host, url.port, url.host_port_subcomponent)
    return url


def check_url(url: URL, policy: AddressPolicy) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise UrlInvalid()
    try:
        literal = ipaddress.ip_address(url.host)
    except ValueError:
        return  # a host name: its addresses are vetted by the resolver at connect time
    if not policy(literal):
        raise UrlNotAllowed()


class UrlFetcher:
    def __init__(self, *, timeout_s: float, policy: AddressPolicy = public_only) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._policy = policy

    async def fetch(self, raw_url: str, directory: Path, cap: int) -> MediaFile:
        """The body of ``raw_url`` in a new spooled file; raises ``MediaTooLarge`` past ``cap`` bytes."""
        try:
            url = parse_url(raw_url)
        except ValueError:
            raise UrlInvalid() from None
        resolver = _VettingResolver(self._policy)
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
        async with aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, trust_env=False, auto_decompress=True
        ) as session:
            try:
                return await self._follow(session, url, directory, cap)
            except aiohttp.InvalidURL:
                raise UrlInvalid() from None
            except TimeoutError:
                raise UrlFetchFailed("timed out") from None
            except aiohttp.ClientConnectionError:
                if resolver.refused:
                    raise UrlNotAllowed() from None
                raise UrlFetchFailed("connection failed") from None
            except aiohttp.ClientError:
                raise UrlFetchFailed("the server's answer could not be read") from None

    async def _follow(self, session: aiohttp.ClientSession, url: URL, directory: Path, cap: int) -> MediaFile:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, self._policy)
            async with session.get(url, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    try:
                        url = parse_url(response.headers["Location"], response.url)
                    except ValueError:
                        raise UrlFetchFailed("invalid redirect location") from None
                    if url.scheme not in ("http", "https") or not url.host:
                        raise UrlFetchFailed("invalid redirect location")
                    continue
                if response.status != 200:
                    raise UrlFetchFailed(f"HTTP {response.status}")
                return await _save(response, directory, cap)
        raise UrlFetchFailed("too many redirects")


async def _save(response: aiohttp.ClientResponse, directory: Path, cap: int) -> MediaFile:
    if response.content_length is not None and response.content_length > cap:
        raise MediaTooLarge()
    spool = Spool(directory, cap)
    try:
        async for chunk in response.content.iter_chunked(READ_CHUNK):
            await spool.write(chunk)
        disposition = response.content_disposition
        filename = disposition.filename if disposition is not None else None
        return await spool.finish(filename or _url_name(response.url), response.headers.get("Content-Type"))
    except BaseException:
        await spool.discard()
        raise


def _url_name(url: URL) -> str | None:
    return url.name or None
