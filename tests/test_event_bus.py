"""The event model and bus on their own: field order, producer mistakes, phases, filters and ids."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from wa_gateway.event_ids import CURRENT_ORIGIN, EventOrigin
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import COMMIT, FOLLOW, SHOW, EventBus
from wa_gateway.events.model import INTERNAL, WEBHOOK, WS, Event


def test_data_keeps_the_declared_order_whatever_the_producer_built() -> None:
    event = ev.DEVICE_BANNED("60123456789", {"expires": None, "code": 401})
    assert list(event.data) == ["code", "expires"]
    frame = orjson.loads(event.ws_frame())
    assert list(frame) == ["event", "token", "data", "id", "timestamp"]


def test_a_producer_that_disagrees_with_its_definition_fails_loudly() -> None:
    with pytest.raises(ValueError, match=r"device\.connected"):
        ev.DEVICE_CONNECTED("60123456789", {"jid": "x"})
    with pytest.raises(ValueError, match=r"contacts\.sync"):
        ev.CONTACTS_SYNC("60123456789", [{"name": "A", "phone": "1", "extra": 1}])


def test_seed_frames_are_the_seed_shapes() -> None:
    assert orjson.loads(ev.CONNECTION_ERROR("1", message="Logged out").ws_frame()) == {
        "event": "connection-error",
        "token": "1",
        "message": "Logged out",
    }
    assert orjson.loads(ev.CONNECTION_SUCCESS("1").ws_frame()) == {
        "event": "connection-success",
        "token": "1",
    }
    assert ev.QRCODE.frame_schema()["properties"]["data"] == {"type": "string"}


async def test_phases_filters_and_ids() -> None:
    seen: list[tuple[str, str, str | None]] = []
    bus = EventBus(lambda: "evt_new")

    def recorder(label: str) -> Callable[[Event], None]:
        def handler(event: Event) -> None:
            seen.append((label, event.name, event.id))

        return handler

    async def committer(event: Event) -> None:
        seen.append(("commit", event.name, event.id))

    bus.subscribe(recorder("follow"), phase=FOLLOW, kinds=(WEBHOOK, INTERNAL), names=("history.synced",))
    bus.subscribe(recorder("show"), phase=SHOW, kinds=(WEBHOOK, WS))
    bus.subscribe(committer, phase=COMMIT)

    await bus.publish(ev.DEVICE_QR_EXPIRED("1", {}))
    await bus.publish(ev.QRCODE("1", "2@x"))
    await bus.publish(ev.HISTORY_SYNCED("1", source={"contacts": []}))
    token = CURRENT_ORIGIN.set(EventOrigin("evt_journaled"))
    try:
        await bus.publish(ev.DEVICE_QR_EXPIRED("1", {}))
    finally:
        CURRENT_ORIGIN.reset(token)
    assert seen == [
        ("commit", "device.qr_expired", "evt_new"),
        ("show", "device.qr_expired", "evt_new"),
        ("show", "qrcode", None),
        ("follow", "history.synced", None),
        ("commit", "device.qr_expired", "evt_journaled"),
        ("show", "device.qr_expired", "evt_journaled"),
    ]


def test_every_webhook_event_is_documented_once() -> None:
    assert len(ev.BY_NAME) == len(ev.ALL)
    for kind in ev.WEBHOOK_TYPES:
        assert kind.doc and kind.webhook_schema()["properties"]["event"] == {"const": kind.name}
