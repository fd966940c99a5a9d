"""The gateway's events: one definition each (``catalog``), the shape of what they carry (``model``) and the
bus that takes them from their producers to their consumers (``bus``); docs/events.md."""
