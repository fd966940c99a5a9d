"""Presence tracking: subscribing to contacts' online/offline and remembering the last state seen."""
