"""Which IP a request comes from: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CLIENT_IP_KEY = web.RequestKey("client_ip", str)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """Walk X-Forwarded-For from the right, skipping trusted proxies; the first other hop is the client.

    Only the rightmost entries were appended by proxies we trust; anything further left was written by
    the client and can be forged, so we stop at the first untrusted hop.
    """
    peer_text = peer or "unknown"
    if not forwarded_for or not proxies:
        return peer_text  # nothing to walk: the peer is the client (and parsing it costs every request)
    peer_addr = _parse(peer_text)
    if not forwarded_for or peer_addr is None or not _trusted(peer_addr, proxies):
        return peer_text
    hops = [h for h in (part.strip() for part in forwarded_for.split(",")) if h]
    for hop in reversed(hops):
        addr = _parse(hop)
        if addr is None:
            return peer_text
        if not _trusted(addr, proxies):
            return str(addr)
    return str(_parse(hops[0])) if hops else peer_text


def request_client_ip(request: web.Request, proxies: Sequence[Network]) -> str:
    cached = request.get(CLIENT_IP_KEY)
    if cached is None:
        cached = client_ip(request.remote, request.headers.get("X-Forwarded-For"), proxies)
        request[CLIENT_IP_KEY] = cached
    return cached
