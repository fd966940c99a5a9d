"""deploy/docker-compose.cluster.yml: three distinct nodes on one database, with known settings only."""

from __future__ import annotations

from pathlib import Path

import yaml

from wa_gateway.config import VARIABLES

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.cluster.yml"


def test_three_nodes_share_the_database_and_nothing_else() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    nodes = {name: s for name, s in services.items() if name.startswith("node-")}
    assert len(nodes) == 3 and {"postgres", "nats"} <= set(services)
    known = {v.name for v in VARIABLES}
    for name, service in nodes.items():
        env = service["environment"]
        assert set(env) <= known, set(env) - known
        assert env["NODE_ID"] == name and env["NODE_URL"] == f"http://{name}:4010"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["NATS_URL"] == "nats://nats:4222" and env["CLUSTER_SECRET"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert len({n["environment"]["DATABASE_URL"] for n in nodes.values()}) == 1
    # Each node its own DATA_DIR volume (its own flock) and its own host port.
    assert len({tuple(n["volumes"]) for n in nodes.values()}) == 3
    assert len({tuple(n["ports"]) for n in nodes.values()}) == 3
    assert "-js" in services["nats"]["command"]
