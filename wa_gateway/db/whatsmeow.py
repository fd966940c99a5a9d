"""whatsmeow's session store in PostgreSQL: where its tables live and how its connections are named.

Both processes use this: the gateway (its cluster registry records each paired device's JID, checks the
database before a connect, deletes a removed device's rows) and the neonize worker (builds the URL Go
opens). whatsmeow's table names are fixed and unqualified (``whatsmeow_*``, whatsmeow
store/sqlstore/upgrades), so they go into a schema of their own through ``search_path``, which lib/pq
sends to the server as a startup parameter like every connection parameter it does not know itself
(docs/neonize.md §1, docs/cluster.md "neonize sessions").
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMA: Final = "whatsmeow"
DEVICE_TABLE: Final = f"{SCHEMA}.whatsmeow_device"
# Every connection a neonize client opens carries this name and the client's Go uuid, so the
# connections a stopped client left open can be found (and closed) in pg_stat_activity.
APPLICATION_PREFIX: Final = "wa-whatsmeow:"
# PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes.
APPLICATION_NAME_LIMIT: Final = 63
# whatsmeow's JID.String() for a device: user, optional .agent, optional :device, @server (types/jid.go).
DEVICE_JID_RE: Final = re.compile(
    r"(?P<user>[0-9]{1,20})(?:\.(?P<agent>[0-9]{1,3}))?(?::(?P<device>[0-9]{1,5}))?@(?P<server>[a-z.]{1,40})"
)


def application_name(generation: str) -> str:
    return f"{APPLICATION_PREFIX}{generation}"[:APPLICATION_NAME_LIMIT]


def session_url(database_url: str, generation: str) -> str:
    """DATABASE_URL as whatsmeow must open it: its own schema, and connections named after the client.

    neonize picks PostgreSQL for a name starting with ``postgres`` and hands it to ``sqlstore.New``
    unchanged (goneonize/main.go ``getDB``); ``postgresql://`` qualifies."""
    parts = urlsplit(database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("search_path", "application_name")]
    if not any(k == "sslmode" for k, _ in query):
        # lib/pq defaults to sslmode=require, asyncpg (and libpq) to prefer (lib/pq connector.go
        # SSLMode): without this a URL the gateway opens would fail in Go against a server without TLS.
        query.append(("sslmode", "prefer"))
    query += [("search_path", SCHEMA), ("application_name", application_name(generation))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_device_jid(text: str) -> tuple[str, int, int, str] | None:
    """(user, agent, device, server) of a stored device JID, None when it is not one."""
    match = DEVICE_JID_RE.fullmatch(text)
    if match is None:
        return None
    return match["user"], int(match["agent"] or 0), int(match["device"] or 0), match["server"]
