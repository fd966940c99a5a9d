"""Control routes of the sandbox engine (docs/architecture.md "Engines"); mounted only with WA_ENGINE=sandbox.

They play the phone and the other side of the conversation: link a device, deliver an incoming message,
a receipt or a history sync, drop or stall the network, unlink, and show what a device sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway import vocabulary as v
from wa_gateway.body import parse_json_object, read_raw
from wa_gateway.devices.api import token_from_path
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok, utc_timestamp_ms
from wa_gateway.phone import USER_SERVER, PhoneRules
from wa_gateway.route_table import RouteTable, route

CONTROL_TIMEOUT_S: Final = 30.0
DEVICE: Final = "/sandbox/devices/{token}"
# Servers of history-sync chats that are not people: the real engine drops them (docs/dropin.md).
_NOT_A_PERSON: Final = v.NOT_A_PERSON_SERVERS | {v.LID_SERVER}


def relayed(
    path: str, op: str, message: str, *, with_body: bool = True, answer: bool = True
) -> Callable[[SandboxApi, web.Request], Awaitable[web.Response]]:
    """A control route ``POST /sandbox/devices/{token}/<path>`` that hands its body to the sandbox as ``op``
    and answers ``message``, with the sandbox's reply as the data when ``answer``."""

    async def handler(api: SandboxApi, request: web.Request) -> web.Response:
        data = await api.relay(request, op, with_body)
        return ok(request, data if answer else None, message)

    return route.post(f"{DEVICE}/{path}")(handler)


class SandboxApi(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        self._manager = manager
        self._phones = phones

    def _phone(self, value: Any) -> str:
        """A number as the API reads one (``PhoneRules``), or a user JID's number."""
        if not isinstance(value, str):
            raise errors.ApiError(errors.INVALID_REQUEST, field="from")
        user, at, server = value.partition("@")
        phone = self._phones.normalise(user) if not at or server == USER_SERVER else None
        if phone is None:
            raise errors.ApiError(errors.INVALID_PHONE)
        return phone

    def _history_entries(self, entries: Any) -> Any:
        if not isinstance(entries, list):
            return entries  # the engine says what is wrong with it
        kept = []
        for entry in entries:
            raw = entry.get("phone") if isinstance(entry, dict) else None
            if isinstance(raw, str) and raw.partition("@")[2] in _NOT_A_PERSON:
                continue
            kept.append({**entry, "phone": self._phone(raw)} if isinstance(entry, dict) else entry)
        return kept

    def _history_message(self, entry: Any) -> Any:
        if isinstance(entry, dict) and "from" in entry:
            return {**entry, "from": self._phone(entry["from"])}
        return entry  # the engine says what is wrong with it

    async def _control(self, op: str, args: dict[str, Any]) -> Any:
        return await self._manager.engine.call(
            c.CMD_SANDBOX,
            {**args, "op": op},
            within=CONTROL_TIMEOUT_S,
            failure=errors.INTERNAL_ERROR,
            unavailable=errors.ENGINE_UNAVAILABLE,
            # Here the sandbox answers for a device it has never heard of.
            not_found=errors.DEVICE_NOT_FOUND,
        )

    async def relay(self, request: web.Request, op: str, with_body: bool = True) -> Any:
        token = token_from_path(request)
        self._manager.require(token)
        args = parse_json_object(await read_raw(request), allow_empty=True) if with_body else {}
        # Numbers are read as the API reads them, so what a control route sets is what the API finds.
        if "from" in args:
            args["from"] = self._phone(args["from"])
        if op == "history_sync" and "contacts" in args:
            args["contacts"] = self._history_entries(args["contacts"])
        if op == "history_sync" and isinstance(args.get("messages"), list):
            args["messages"] = [self._history_message(entry) for entry in args["messages"]]
        return await self._control(op, {**args, "token": token})

    link = relayed("link", "link", "Device linked")
    incoming_message = relayed("messages", "message", "Message delivered to the device")
    receipt = relayed("receipts", "receipt", "Receipt delivered to the device", answer=False)
    history_sync = relayed(
        "history-sync", "history_sync", "History sync delivered to the device", answer=False
    )
    disconnect = relayed(
        "disconnect",
        "disconnect",
        "Network dropped; the device reconnects by itself",
        with_body=False,
        answer=False,
    )
    stall = relayed(
        "stall", "stall", "Session stalled; the watchdog reconnects the device", with_body=False, answer=False
    )
    logout = relayed("logout", "logout", "Device unlinked from the phone", with_body=False, answer=False)

    @route.get(f"{DEVICE}/sent")
    async def sent(self, request: web.Request) -> web.Response:
        log = await self.relay(request, "sent", with_body=False)
        return ok(request, iso_sent_log(log), "Sent log")

    @route.put("/sandbox/numbers/{phone}")
    async def set_number(self, request: web.Request) -> web.Response:
        phone = self._phones.normalise(request.match_info["phone"])
        if phone is None:
            raise errors.ApiError(errors.INVALID_PHONE)
        args = parse_json_object(await read_raw(request), allow_empty=True)
        data = await self._control("set_number", {"registered": args.get("registered", True), "phone": phone})
        return ok(request, data, "Number updated")


def iso_sent_log(log: dict[str, Any]) -> dict[str, Any]:
    """The engine's Unix times as ISO 8601 strings like the rest of the API, to the millisecond so the
    typing delay before a send stays visible (docs/dropin.md)."""
    messages = [
        {
            **m,
            "timestamp": utc_timestamp_ms(m["timestamp"]),
            "presenceAt": [utc_timestamp_ms(at) for at in m.get("presenceAt", [])],
        }
        for m in log.get("messages", [])
    ]
    presence = [{**p, "at": utc_timestamp_ms(p["at"])} for p in log.get("presence", [])]
    calls = [{**call, "at": utc_timestamp_ms(call["at"])} for call in log.get("rejectedCalls", [])]
    return {**log, "messages": messages, "presence": presence, "rejectedCalls": calls}
