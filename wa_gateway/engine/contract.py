"""The engine contract: the only thing the gateway knows about WhatsApp (shared/DESIGN.md "Architecture").

The gateway process sends *commands* to the engine worker and receives *events* from it, as framed
orjson messages over a socketpair (see ``wa_gateway.engine.ipc``). Both backends (``neonize`` and
``sandbox``) implement ``EngineBackend`` and nothing more; the gateway never imports neonize.

Wire messages (each one JSON object):

- worker -> gateway, once at start: ``{"type": "hello", "pid", "engine", "version"}`` (``version`` is the
  build id, ``launcher.BUILD_ID``), or instead, when the backend cannot start:
  ``{"type": "fatal", "code": "ENGINE_FAILURE", "message": str}`` and the worker exits non-zero
- gateway -> worker: ``{"type": "request", "id": int, "cmd": str, "args": {...}}``
- worker -> gateway: ``{"type": "reply", "id": int, "ok": true, "result": ...}`` or
  ``{"type": "reply", "id": int, "ok": false, "error": {"code": str, "message": str}}``
- worker -> gateway: ``{"type": "event", "token": str, "event": str, "data": {...}}``
- gateway -> worker: ``{"type": "ping", "id": int}``; worker -> gateway ``{"type": "pong", "id": int}``

Every timestamp crossing the contract is Unix seconds (float); the gateway formats it.
Device tokens are ``^[0-9]{7,15}$`` (checked by the gateway before anything reaches the engine).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, Protocol, TypedDict

# --- commands -------------------------------------------------------------------------------------
CMD_CONNECT: Final = "connect"  # {token, method: "qr"|"code"|"restore", device_name} -> {"paired": bool}
CMD_DISCONNECT: Final = "disconnect"  # {token} -> None   (keeps the session; no auto-reconnect)
CMD_LOGOUT: Final = "logout"  # {token} -> None   (unlinks when possible; always removes session files)
CMD_SEND_TEXT: Final = "send_text"  # {token, to: jid, text, typing_ms} -> {"id": str, "timestamp": float}
CMD_CHECK_NUMBERS: Final = "check_numbers"  # {token, phones: [digits]} -> {"results": [NumberCheck]}
CMD_MARK_READ: Final = "mark_read"  # {token, chat: jid, sender: jid|None, ids: [str]} -> None
CMD_LIST_SESSIONS: Final = "list_sessions"  # {} -> {"sessions": [{"token", "paired": bool}]}
CMD_STATUS: Final = "status"  # {} -> {"devices": [{"token", "status", "jid", "pushName"}]}
CMD_SANDBOX: Final = "sandbox"  # {op, token?, ...} -> backend-specific (sandbox control routes only)
CMD_SHUTDOWN: Final = "shutdown"  # {} -> None; the worker stops every client and exits 0

ConnectMethod = Literal["qr", "code", "restore"]

# --- events (worker -> gateway), with their ``data`` --------------------------------------------
EV_QR: Final = "qr"  # {"code": "2@..."}
EV_PAIRING_CODE: Final = "pairing_code"  # {"code": "ABCD-EFGH"}
EV_CONNECTED: Final = "connected"  # {"jid": str, "pushName": str}
EV_DISCONNECTED: Final = "disconnected"  # {"reason": str}   (the engine keeps reconnecting)
EV_LOGGED_OUT: Final = "logged_out"  # {"reason": str}   (session files already removed)
EV_QR_TIMEOUT: Final = "qr_timeout"  # {}
EV_CONNECT_FAILURE: Final = "connect_failure"  # {"reason": str, "code": int|None, "retrying": bool}
EV_BANNED: Final = "banned"  # {"code": int, "expires": float|None}
EV_MESSAGE: Final = "message"  # IncomingMessage
EV_RECEIPT: Final = "receipt"  # Receipt
EV_HISTORY_SYNC: Final = "history_sync"  # {"contacts": [{"phone", "name"}]}
EV_CALL_OFFER: Final = "call_offer"  # {"from": jid, "callId": str, "timestamp": float}

RECEIPT_TYPES: Final = ("delivered", "read", "played")

# --- error codes a reply can carry (mapped to API errors by the gateway) --------------------------
E_DEVICE_NOT_FOUND: Final = "DEVICE_NOT_FOUND"  # no client for that token in the worker
E_DEVICE_NOT_CONNECTED: Final = "DEVICE_NOT_CONNECTED"
E_ALREADY_CONNECTED: Final = "DEVICE_ALREADY_CONNECTED"
E_INVALID_ARGUMENT: Final = "INVALID_ARGUMENT"
E_UNKNOWN_COMMAND: Final = "UNKNOWN_COMMAND"
E_ENGINE_FAILURE: Final = "ENGINE_FAILURE"  # the backend raised; message is safe to log, not to show


class NumberCheck(TypedDict):
    phone: str  # digits as asked
    isOnWhatsApp: bool
    jid: str  # "" when WhatsApp gave none


# Functional form because "from" is a keyword.
IncomingMessage = TypedDict(
    "IncomingMessage",
    {
        "id": str,
        "from": str,  # phone JID when known, else the LID JID
        "chat": str,
        "pushName": str,
        "text": str,
        "type": str,  # "text", "image", ... ("unknown" when nothing recognisable)
        "timestamp": float,
        "isGroup": bool,
        "fromMe": bool,
        "senderPhone": str,  # digits of the sender's phone number when known, else ""
    },
)

Receipt = TypedDict(
    "Receipt",
    {
        "type": str,  # one of RECEIPT_TYPES
        "messageIds": list[str],
        "from": str,  # phone JID when known
        "chat": str,
        "timestamp": float,
    },
)


class EngineError(Exception):
    """A command failed in a way the caller can act on; ``code`` is one of the ``E_*`` constants."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


EmitFn = Callable[[str, str, dict[str, Any]], None]
"""``emit(token, event, data)``: called by a backend on the worker's loop thread; never blocks."""


class EngineBackend(Protocol):
    """What a backend implements inside the worker. Every method runs on the worker's event loop."""

    name: str

    async def start(self, emit: EmitFn) -> None: ...

    async def connect(self, token: str, method: ConnectMethod, device_name: str) -> dict[str, Any]: ...

    async def disconnect(self, token: str) -> None: ...

    async def logout(self, token: str) -> None: ...

    async def send_text(self, token: str, to: str, text: str, typing_ms: int) -> dict[str, Any]: ...

    async def check_numbers(self, token: str, phones: list[str]) -> list[NumberCheck]: ...

    async def mark_read(self, token: str, chat: str, sender: str | None, ids: list[str]) -> None: ...

    async def list_sessions(self) -> list[dict[str, Any]]: ...

    async def status(self) -> list[dict[str, Any]]: ...

    async def control(self, op: str, args: dict[str, Any]) -> Any:
        """Backend-specific operations (the sandbox's control routes); others raise E_UNKNOWN_COMMAND."""
        ...

    async def close(self) -> None: ...


BackendFactory = Callable[[dict[str, Any]], Awaitable[EngineBackend]]
