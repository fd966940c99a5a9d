"""Contact capture as a subscriber of the event bus: who wrote a message, and the 1:1 chats of a history
sync, become contacts; the ones not seen before are announced as ``contacts.new`` / ``contacts.sync``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from wa_gateway.contacts.capture import (
    contact_from_message,
    contacts_from_history,
    new_contacts_payload,
    phone_of_jid,
)
from wa_gateway.contacts.model import ContactBooks, ContactStoreError, ContactUpsert
from wa_gateway.events import catalog as ev
from wa_gateway.events.bus import FOLLOW, EventBus
from wa_gateway.events.model import INTERNAL, WEBHOOK, Event

log = logging.getLogger("wa_gateway.inbound")

# The device's own JID, if it is connected: its own number is never a contact.
JidOf = Callable[[str], str | None]


class ContactCapture:
    def __init__(self, bus: EventBus, contacts: ContactBooks, jid_of: JidOf) -> None:
        self._bus = bus
        self._contacts = contacts
        self._jid_of = jid_of

    def subscribe(self) -> None:
        self._bus.subscribe(
            self.on_event,
            phase=FOLLOW,
            kinds=(WEBHOOK, INTERNAL),
            names=(ev.MESSAGE_RECEIVED.name, ev.HISTORY_SYNCED.name),
        )

    async def on_event(self, event: Event) -> None:
        if event.source is None:
            return
        if event.type is ev.MESSAGE_RECEIVED:
            row = contact_from_message(event.source, self._own_phones(event.token))
            if row is None:
                return
            new = await self._upsert(event.token, [row])
            for contact in new_contacts_payload([row], new):
                await self._bus.publish(ev.CONTACTS_NEW(event.token, contact))
            return
        rows = contacts_from_history(event.source, self._own_phones(event.token))
        if not rows:
            return
        payload = new_contacts_payload(rows, await self._upsert(event.token, rows))
        chunk = ev.CONTACTS_SYNC_CHUNK
        for start in range(0, len(payload), chunk):
            await self._bus.publish(ev.CONTACTS_SYNC(event.token, payload[start : start + chunk]))

    def _own_phones(self, token: str) -> frozenset[str]:
        jid = self._jid_of(token)
        own = phone_of_jid(jid) if jid else None
        return frozenset({token, own} if own else {token})

    async def _upsert(self, token: str, rows: list[ContactUpsert]) -> list[str]:
        try:
            return await self._contacts.get(token).upsert_many(rows)
        except ContactStoreError as exc:
            log.error("contacts not saved", extra={"count": len(rows), "error": str(exc)})
            return []
