"""Contacts: capture from engine events, one sqlite store per device, and ``GET /contacts/{token}``."""

from wa_gateway.contacts.api import ContactsApi, KnownDevices
from wa_gateway.contacts.capture import (
    contact_from_message,
    contacts_from_history,
    new_contacts_payload,
    phone_of_jid,
)
from wa_gateway.contacts.model import (
    SOURCE_HISTORY,
    SOURCE_MESSAGE,
    ContactBook,
    ContactBooks,
    ContactRow,
    ContactStoreError,
)
from wa_gateway.contacts.store import ContactStore, ContactStores

__all__ = [
    "SOURCE_HISTORY",
    "SOURCE_MESSAGE",
    "ContactBook",
    "ContactBooks",
    "ContactRow",
    "ContactStore",
    "ContactStoreError",
    "ContactStores",
    "ContactsApi",
    "KnownDevices",
    "contact_from_message",
    "contacts_from_history",
    "new_contacts_payload",
    "phone_of_jid",
]
