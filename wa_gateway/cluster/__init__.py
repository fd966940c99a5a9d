"""Several gateway nodes on one PostgreSQL database: nodes, device leases, forwarding (docs/cluster.md)."""
