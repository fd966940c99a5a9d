"""What an event is: its definition (name, fields, docs, where it goes) and one occurrence of it.

A definition produces everything the outside world sees of its event: the ``data`` of the webhook and of
the WebSocket frame (fields in the order declared, so the bytes never depend on how a producer built its
dict) and the JSON Schemas that ``/openapi.json`` publishes for both (docs/events.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from wa_gateway.envelope import dumps, utc_timestamp
from wa_gateway.openapi.builders import TIMESTAMP, Schema, obj

# ``webhook``: committed to the outbox, then shown on the WebSocket; ``ws``: the seed's device events, shown
# on the WebSocket only; ``internal``: for subscribers inside the gateway, never sent anywhere.
Kind = Literal["webhook", "ws", "internal"]
WEBHOOK: Final[Kind] = "webhook"
WS: Final[Kind] = "ws"
INTERNAL: Final[Kind] = "internal"
STRING: Final[Schema] = {"type": "string"}


class Field(NamedTuple):
    """One field of an event's ``data``: its JSON key and the JSON Schema of its value."""

    key: str
    schema: Schema


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    doc: str
    fields: tuple[Field, ...] = ()
    kind: Kind = WEBHOOK
    # ``data`` is a list of objects of ``fields`` (contacts.sync), at most this many.
    list_of: int | None = None
    # A seed event whose ``data`` is not an object of fields (``qrcode`` carries the bare string).
    data_schema_override: Schema | None = None
    # The seed's connection-error carries ``message`` instead of ``data``.
    has_message: bool = False
    keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(f.key for f in self.fields))

    def __call__(
        self,
        token: str,
        data: Any = None,
        *,
        message: str | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> Event:
        """One occurrence; ``source`` is the engine data it came from, for subscribers (never sent)."""
        return Event(self, token, self.shape(data), message, source)

    def shape(self, data: Any) -> Any:
        """``data`` with exactly the declared fields, in their declared order."""
        if self.list_of is not None:
            return [self._fields_of(item) for item in data]
        if self.fields:
            return self._fields_of(data)
        return data

    def _fields_of(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if values.keys() != self.keys:
            # A producer and its definition disagree: a bug, never something a user sent.
            raise ValueError(f"{self.name}: fields {sorted(values)} are not {sorted(self.keys)}")
        return {f.key: values[f.key] for f in self.fields}

    def data_schema(self) -> Schema | None:
        if self.data_schema_override is not None:
            return self.data_schema_override
        if not self.fields and self.kind == WS:
            return None
        item = obj({f.key: f.schema for f in self.fields}, tuple(f.key for f in self.fields))
        if self.list_of is not None:
            return {"type": "array", "items": item, "maxItems": self.list_of}
        return item

    def webhook_schema(self) -> Schema:
        """The body a webhook receiver gets."""
        return obj(
            {
                "id": STRING,
                "event": {"const": self.name},
                "token": STRING,
                "data": self.data_schema() or {"type": "object"},
                "timestamp": TIMESTAMP,
            },
            ("id", "event", "token", "data", "timestamp"),
        )

    def frame_schema(self) -> Schema:
        """The WebSocket frame: a webhook event's frame is its webhook body; a seed event's is its own."""
        if self.kind == WEBHOOK:
            return self.webhook_schema()
        properties: dict[str, Schema] = {"event": {"const": self.name}, "token": STRING}
        data = self.data_schema()
        if data is not None:
            properties["data"] = data
        if self.has_message:
            properties["message"] = STRING
        return obj(properties, tuple(properties), additionalProperties=False)


@dataclass(slots=True)
class Event:
    type: EventType
    token: str
    data: Any = None
    message: str | None = None
    source: Mapping[str, Any] | None = None
    # Given by the bus to a webhook event before any subscriber sees it.
    id: str | None = None

    @property
    def name(self) -> str:
        return self.type.name

    def ws_frame(self) -> bytes:
        """A webhook event's frame is its webhook body (same ``id``); a seed event's is the seed's frame."""
        if self.type.kind == WEBHOOK:
            return encode_event(self.name, self.token, self.data, id=self.id, timestamp=utc_timestamp())
        return encode_event(self.name, self.token, self.data, self.message)


def encode_event(event: str, token: str, data: Any = None, message: str | None = None, **extra: Any) -> bytes:
    """The seed's frame: ``{"event","token","data"?,"message"?}`` in that order, plus any extras."""
    frame: dict[str, Any] = {"event": event, "token": token}
    if data is not None:
        frame["data"] = data
    if message:
        frame["message"] = message
    frame.update(extra)
    return dumps(frame)
