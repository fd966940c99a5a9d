"""Contacts: capture from engine events, one sqlite store per device, and ``GET /contacts/{token}``."""

from .api import ContactsApi, KnownDevices
from .capture import contact_from_message, contacts_from_history, new_contacts_payload, phone_of_jid
from .model import SOURCE_HISTORY, SOURCE_MESSAGE, ContactBook, ContactBooks, ContactRow, ContactStoreError
from .store import ContactStore, ContactStores

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
