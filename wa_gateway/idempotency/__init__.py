"""Idempotent sends (``Idempotency-Key``, IETF draft-ietf-httpapi-idempotency-key-header)."""
