"""One neonize client per device, whose Go callbacks do nothing but hand items to the device's inbox.

neonize dispatches each event as its own task on a process-global loop set once, swallows handler
exceptions and loses order (docs/neonize.md §0.5, §1). This client instead parses on the Go thread (the
buffer is only valid during the callback) and posts one item per callback, in Go's order, to a queue
that a single consumer task per device drains.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from neonize.aioze.client import DeviceProps, NewAClient  # type: ignore[import-untyped]
from neonize.events import INT_TO_EVENT  # type: ignore[import-untyped]
from neonize.exc import PairPhoneError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]
from neonize.utils.enum import ClientType  # type: ignore[import-untyped]

from wa_gateway.backends.neonize.ffi import GoFfi
from wa_gateway.backends.neonize.runtime import DeviceName

log = logging.getLogger(__name__)

# neonize.events.EVENT_TO_INT codes this engine listens to. Go only sends subscribed codes, and the
# subscription is fixed at connect() (docs/neonize.md §1).
DEVICE: Final = 0
PAIR_STATUS: Final = 2
CONNECTED: Final = 3
KEEPALIVE_TIMEOUT: Final = 4
KEEPALIVE_RESTORED: Final = 5
LOGGED_OUT: Final = 6
STREAM_REPLACED: Final = 7
TEMPORARY_BAN: Final = 8
CONNECT_FAILURE: Final = 9
CLIENT_OUTDATED: Final = 10
STREAM_ERROR: Final = 11
DISCONNECTED: Final = 12
HISTORY_SYNC: Final = 13
MESSAGE: Final = 17
RECEIPT: Final = 18
CHAT_PRESENCE: Final = 19
PRESENCE: Final = 20
JOINED_GROUP: Final = 21
GROUP_INFO: Final = 22
CALL_OFFER: Final = 36
CALL_OFFER_NOTICE: Final = 40  # how group calls are offered
SUBSCRIBED: Final = (
    DEVICE,
    PAIR_STATUS,
    CONNECTED,
    KEEPALIVE_TIMEOUT,
    KEEPALIVE_RESTORED,
    LOGGED_OUT,
    STREAM_REPLACED,
    TEMPORARY_BAN,
    CONNECT_FAILURE,
    CLIENT_OUTDATED,
    STREAM_ERROR,
    DISCONNECTED,
    HISTORY_SYNC,
    MESSAGE,
    RECEIPT,
    CALL_OFFER,
    CALL_OFFER_NOTICE,
    CHAT_PRESENCE,
    PRESENCE,
    JOINED_GROUP,
    GROUP_INFO,
)

# What a device received: whatsmeow acknowledges these to WhatsApp once the event handlers return
# (whatsmeow message.go, handleDecryptedMessage), so their callback holds the Go thread until the
# event's journal commit (docs/durability.md). State events (connected, QR) do not wait.
JOURNALED_CODES: Final = frozenset({HISTORY_SYNC, MESSAGE, RECEIPT, CALL_OFFER, CALL_OFFER_NOTICE})
# Bounded, so a loop that cannot get to the event (stuck, or waiting on this very Go thread) costs a
# delay, never a deadlock; past it the event is journaled as soon as the loop gets to it.
JOURNAL_WAIT_S: Final = 5.0

# DeviceProps.PlatformType decides the icon and the "Google Chrome (<os>)" label in Linked devices;
# PairPhone's clientType is a different enum (whatsmeow PairClientType).
_PLATFORMS: Final = {
    "chrome": DeviceProps.PlatformType.CHROME,
    "firefox": DeviceProps.PlatformType.FIREFOX,
    "edge": DeviceProps.PlatformType.EDGE,
    "safari": DeviceProps.PlatformType.SAFARI,
    "opera": DeviceProps.PlatformType.OPERA,
    "ie": DeviceProps.PlatformType.IE,
}
_PAIR_CLIENT_TYPES: Final = {
    "chrome": ClientType.CHROME,
    "firefox": ClientType.FIREFOX,
    "edge": ClientType.EDGE,
    "safari": ClientType.SAFARI,
    "opera": ClientType.OPERA,
    "ie": ClientType.IE,
}


@dataclass(frozen=True, slots=True)
class GoEvent:
    generation: str
    code: int
    event: Any
    journaled: threading.Event | None = None  # set once handled and journaled; Go's thread waits on it


@dataclass(frozen=True, slots=True)
class QrCode:
    generation: str
    code: str


@dataclass(frozen=True, slots=True)
class LoginStatus:
    """A non-code item of whatsmeow's QR channel: success, timeout, err-client-outdated, ..."""

    generation: str
    status: str


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The client's ``Neonize()`` call returned without being stopped by us."""

    generation: str
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class Timer:
    """A deadline this device set for itself (QR watchdog, reconnect backoff, account check)."""

    generation: str
    kind: str


InboxItem = GoEvent | QrCode | LoginStatus | SessionEnded | Timer
PostFn = Callable[[InboxItem], None]


def release_go(item: InboxItem) -> None:
    """Lets the Go thread that posted ``item`` return, whether or not it was handled."""
    if isinstance(item, GoEvent) and item.journaled is not None:
        item.journaled.set()


def device_props(device: DeviceName) -> Any:
    return DeviceProps(os=device.os, platformType=_PLATFORMS[device.browser])


async def _never_called(_client: Any, _event: Any) -> None:
    """Placeholder that subscribes a code; events go through ``GatewayClient._on_go_event`` instead."""


class GatewayClient(NewAClient):  # type: ignore[misc]
    def __init__(
        self,
        db_path: str,
        generation: str,
        device: DeviceName,
        ffi: GoFfi,
        loop: asyncio.AbstractEventLoop,
        post: PostFn,
        jid: Any = None,
        new_device: bool = False,
    ) -> None:
        # One sqlite file per device: jid=None resumes its only session or starts pairing. One shared
        # database: the exact stored JID, or new_device for a pairing (docs/neonize.md §1).
        props = device_props(device)
        super().__init__(db_path, jid=None, props=props, uuid=generation, new_device=new_device)
        # Set after: given to the constructor, the JID's user would replace the unique uuid.
        self.jid = jid
        # Its GC-time Stop(uuid) runs on an arbitrary thread and races the Go maps (docs/neonize.md §1);
        # this engine always stops clients itself, under the lock.
        self._stop_finalizer.detach()
        self._NewAClient__client = ffi
        self.generation = generation
        self.device = device
        self.go_signalled = asyncio.Event()
        # An unpaired client's Neonize() sits in the QR channel loop, which Stop cannot end
        # (docs/engine.md, "Stopping"); the loop is left on the "success" login status.
        self.in_qr_loop = False
        self._loop = loop
        self._post = post
        self.event.execute = self._on_go_event
        for code in SUBSCRIBED:
            self.event.list_func[code] = _never_called

    @property
    def ffi(self) -> GoFfi:
        ffi: GoFfi = self._NewAClient__client
        return ffi

    def _deliver(self, item: InboxItem) -> None:
        self.go_signalled.set()
        self._post(item)

    def _post_threadsafe(self, item: InboxItem) -> bool:
        try:
            self._loop.call_soon_threadsafe(self._deliver, item)
        except RuntimeError:
            log.debug("dropped %s for %s: the event loop is closed", type(item).__name__, self.generation)
            return False
        return True

    # The three callbacks below run on the Go session thread, while Go waits for them to return.

    def _on_go_event(self, _uuid: bytes, buffer: int, size: int, code: int) -> None:
        try:
            event_type = INT_TO_EVENT.get(code)
            if event_type is None:
                return
            event = event_type.FromString(ctypes.string_at(buffer, size) if buffer and size > 0 else b"")
            if code == DEVICE:
                self.me = event
            elif code == CONNECTED:
                self.connected = True
            journaled = threading.Event() if code in JOURNALED_CODES else None
            posted = self._post_threadsafe(GoEvent(self.generation, code, event, journaled))
            if posted and journaled is not None and not journaled.wait(JOURNAL_WAIT_S):
                log.warning(
                    "event %d for %s not journaled within %g s; returning to the engine",
                    code,
                    self.generation,
                    JOURNAL_WAIT_S,
                )
        except Exception:
            log.exception("could not read event %d from the engine for %s", code, self.generation)

    def _NewAClient__onQr(self, _uuid: int, code: int) -> None:
        try:
            self._post_threadsafe(QrCode(self.generation, ctypes.string_at(code).decode()))
        except Exception:
            log.exception("could not read a QR code from the engine for %s", self.generation)

    def _NewAClient__onLoginStatus(self, _uuid: int, status: int) -> None:
        # neonize's own hook is a no-op, so without this a QR timeout produces no signal (docs/neonize.md §2).
        try:
            text = ctypes.string_at(status).decode()
            if text == "success":
                self.in_qr_loop = False
            self._post_threadsafe(LoginStatus(self.generation, text))
        except Exception:
            log.exception("could not read a login status from the engine for %s", self.generation)

    async def request_pairing_code(self, phone: str) -> str:
        """Like neonize's ``PairPhone``, but with the configured `Browser (OS)` display name.

        neonize builds the name from enum names (``"CHROME (LINUX)"``) and maps DeviceProps' platform
        number onto a different enum; whatsmeow wants e.g. ``"Chrome (Linux)"``.
        """
        params = proto.PairPhoneParams(
            phone=phone,
            clientDisplayName=self.device.display,
            clientType=_PAIR_CLIENT_TYPES[self.device.browser].value,
            showPushNotification=True,
        )
        payload = params.SerializeToString()
        raw = await self.ffi.PairPhone(self.uuid, payload, len(payload))
        result = proto.PairPhoneReturnFunction.FromString(raw)
        if result.Error:
            raise PairPhoneError(result.Error)
        return str(result.Code)
