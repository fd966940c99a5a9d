"""Scoped API keys: the admin ``API_KEY`` plus keys limited to scopes and devices (docs/api-keys.md)."""
