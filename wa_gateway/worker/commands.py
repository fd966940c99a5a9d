"""Engine commands from the wire to the backend: each request's arguments checked for shape, then dispatched.

What the arguments mean (a poll's options, a presence target, a media file) is checked by the backends
themselves (``command_checks``), so a backend refuses the same things however it is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, cast

from wa_gateway.engine import contract as c

DEFAULT_DEVICE_NAME: Final = "Chrome (Linux)"


async def dispatch(backend: c.EngineBackend, cmd: str, args: dict[str, Any], config: dict[str, Any]) -> Any:
    """Run one command; raises EngineError(E_UNKNOWN_COMMAND) for a command it does not know."""
    match cmd:
        case c.CMD_CONNECT:
            method = args.get("method", "qr")
            if method not in ("qr", "code", "restore"):
                raise _invalid("method must be 'qr', 'code' or 'restore'")
            device_name = args.get("device_name") or config.get("device_name") or DEFAULT_DEVICE_NAME
            return await backend.connect(_token(args), method, str(device_name))
        case c.CMD_DISCONNECT:
            return await backend.disconnect(_token(args))
        case c.CMD_LOGOUT:
            return await backend.logout(_token(args))
        case c.CMD_SEND_TEXT:
            return await backend.send_text(
                _token(args),
                _text(args, "to"),
                _text(args, "text"),
                _typing_ms(args),
                reply_to=_optional_text(args, "reply_to"),
                mentions=_text_list(args, "mentions") if args.get("mentions") is not None else [],
            )
        case c.CMD_CHECK_NUMBERS:
            results = await backend.check_numbers(_token(args), _text_list(args, "phones"))
            return {"results": results}
        case c.CMD_MARK_READ:
            return await backend.mark_read(
                _token(args), _text(args, "chat"), _optional_text(args, "sender"), _text_list(args, "ids")
            )
        case c.CMD_LIST_SESSIONS:
            return {"sessions": await backend.list_sessions()}
        case c.CMD_STATUS:
            return {"devices": await backend.status()}
        case c.CMD_SANDBOX:
            op = _text(args, "op")
            return await backend.control(op, {k: v for k, v in args.items() if k != "op"})
    return await _dispatch_messaging(backend, cmd, args)


async def _dispatch_messaging(backend: c.EngineBackend, cmd: str, args: dict[str, Any]) -> Any:
    match cmd:
        case c.CMD_SEND_MEDIA:
            kind = args.get("kind")
            if kind not in c.MEDIA_KINDS:
                raise _invalid(f"kind must be one of {', '.join(c.MEDIA_KINDS)}")
            media = c.OutgoingMedia(
                kind=cast(c.MediaKind, kind),
                path=Path(_text(args, "path")),
                mimetype=_text(args, "mimetype"),
                filename=_optional_text(args, "filename"),
                caption=_optional_text(args, "caption"),
                reply_to=_optional_text(args, "reply_to"),
            )
            return await backend.send_media(_token(args), _text(args, "to"), media, _typing_ms(args))
        case c.CMD_REACT:
            emoji = args.get("emoji")
            if not isinstance(emoji, str):
                raise _invalid("emoji must be a string (empty to remove the reaction)")
            return await backend.react(
                _token(args),
                _text(args, "chat"),
                _text(args, "message_id"),
                emoji,
                _optional_text(args, "sender"),
            )
        case c.CMD_EDIT:
            return await backend.edit(
                _token(args), _text(args, "chat"), _text(args, "message_id"), _text(args, "text")
            )
        case c.CMD_REVOKE:
            return await backend.revoke(_token(args), _text(args, "chat"), _text(args, "message_id"))
        case c.CMD_SEND_POLL:
            options = args.get("options")
            if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
                raise _invalid("options must be a list of strings")
            multiple = args.get("multiple", False)
            if not isinstance(multiple, bool):
                raise _invalid("multiple must be true or false")
            return await backend.send_poll(
                _token(args), _text(args, "to"), _text(args, "question"), options, multiple
            )
        case c.CMD_SET_PRESENCE:
            state = args.get("state")
            if state not in c.PRESENCE_STATES:
                raise _invalid(f"state must be one of {', '.join(c.PRESENCE_STATES)}")
            return await backend.set_presence(
                _token(args), _optional_text(args, "to"), cast(c.PresenceState, state)
            )
        case c.CMD_LIST_GROUPS:
            return {"groups": await backend.list_groups(_token(args))}
        case c.CMD_GROUP_INFO:
            return await backend.group_info(_token(args), _text(args, "jid"))
        case c.CMD_DOWNLOAD_MEDIA:
            return await backend.download_media(_token(args), _text(args, "message_id"))
        case c.CMD_REJECT_CALL:
            return await backend.reject_call(_token(args), _text(args, "from"), _text(args, "call_id"))
        case c.CMD_SUBSCRIBE_PRESENCE:
            return await backend.subscribe_presence(_token(args), _text(args, "to"))
        case c.CMD_POST_STATUS:
            return await backend.post_status(
                _token(args),
                _text(args, "text"),
                _optional_int(args, "background_argb"),
                _optional_int(args, "font"),
            )
        case c.CMD_POST_STATUS_MEDIA:
            kind = args.get("kind")
            if kind not in c.STATUS_MEDIA_KINDS:
                raise _invalid(f"kind must be one of {', '.join(c.STATUS_MEDIA_KINDS)}")
            media = c.OutgoingMedia(
                kind=cast(c.MediaKind, kind),
                path=Path(_text(args, "path")),
                mimetype=_text(args, "mimetype"),
                caption=_optional_text(args, "caption"),
            )
            return await backend.post_status_media(_token(args), media)
    raise c.EngineError(c.E_UNKNOWN_COMMAND, f"unknown command {cmd!r}")


def _invalid(message: str) -> c.EngineError:
    return c.EngineError(c.E_INVALID_ARGUMENT, message)


def _token(args: dict[str, Any]) -> str:
    return _text(args, "token")


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise _invalid(f"{key} must be a non-empty string")
    return value


def _optional_text(args: dict[str, Any], key: str) -> str | None:
    """An optional string; empty means absent."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"{key} must be a string or null")
    return value


def _text_list(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _invalid(f"{key} must be a list of non-empty strings")
    return value


def _typing_ms(args: dict[str, Any]) -> int:
    typing_ms = args.get("typing_ms", 0)
    if not isinstance(typing_ms, int) or isinstance(typing_ms, bool) or typing_ms < 0:
        raise _invalid("typing_ms must be a non-negative integer")
    return typing_ms


def _optional_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(f"{key} must be a non-negative integer or null")
    return value
