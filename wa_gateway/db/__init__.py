"""Shared storage for more than one node: PostgreSQL when ``DATABASE_URL`` is set (docs/cluster.md)."""
