"""The message store: every message a device sent or received, with what happened to it (docs/messages.md)."""
