"""Sending messages and checking numbers."""
