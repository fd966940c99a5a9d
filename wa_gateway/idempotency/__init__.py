"""Idempotent sends: a repeated ``Idempotency-Key`` gets the first response, and nothing is sent twice."""
