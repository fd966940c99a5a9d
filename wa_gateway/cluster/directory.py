"""One view of the cluster's devices (docs/cluster.md "One view of the cluster").

Each node writes what it knows of the devices it holds into their lease rows (status, JID, push name,
connected since) when a device's state changes and at every lease round, and only while the lease is its
own at the generation it took. Any node then answers ``GET /devices`` for the whole cluster with one
query: its own devices from memory, the others as their owners last reported them, and a device without
a live owner as disconnected. The JID is also what a node that takes a neonize device over resumes its
session with (whatsmeow's store is shared, ``wa_gateway/db/whatsmeow.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.clock import Clock
from wa_gateway.cluster.leases import DB_ERRORS, LeaseKeeper
from wa_gateway.cluster.store import DirectoryRow, LeaseStore
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.envelope import utc_timestamp
from wa_gateway.events import catalog as ev

log = logging.getLogger("wa_gateway.cluster")

# Frames that follow a change of a device's state (devices/states.py publishes one with each change).
STATE_EVENTS: Final = frozenset(
    {ev.QRCODE.name, ev.PAIRING_CODE.name, ev.CONNECTION_SUCCESS.name, ev.CONNECTION_ERROR.name}
)
# Reads of the directory on a request's path: a database that does not answer costs this much at most.
READ_TIMEOUT_S: Final = 2.0
_Report = tuple[str, int, str, str | None, str | None, float | None]


class DeviceDirectory:
    def __init__(self, store: LeaseStore, keeper: LeaseKeeper, *, node_id: str, clock: Clock) -> None:
        self._store = store
        self._keeper = keeper
        self._node_id = node_id
        self._clock = clock
        self._manager: DeviceManager | None = None
        self._written: dict[str, _Report] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, manager: DeviceManager) -> None:
        self._manager = manager

    def observe(self, event: str, _token: str, _frame: bytes) -> None:
        if event in STATE_EVENTS:
            self._changed.set()

    # --- writing this node's part ---------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            round_due = asyncio.ensure_future(self._clock.sleep(self._keeper.interval))
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({round_due, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in (round_due, changed):
                    waiter.cancel()
            self._changed.clear()
            try:
                await self.flush()
            except Exception as exc:  # a connection cut mid-statement can surface as any asyncpg error
                log.warning("could not report devices to the cluster", extra={"error": repr(exc)})
                self._written.clear()  # written again once the database answers

    def _reports(self) -> list[_Report]:
        manager = self._manager
        if manager is None:
            return []
        found: list[_Report] = []
        for token in self._keeper.owned():
            device = manager.get(token)
            generation = self._keeper.generation(token)
            if device is None or generation is None:
                continue
            found.append(
                (token, generation, device.status, device.jid, device.push_name, device.connected_at)
            )
        return found

    async def flush(self) -> None:
        """Write what changed among the devices this node holds since it last wrote them."""
        reports = self._reports()
        changed = [r for r in reports if self._written.get(r[0]) != r]
        if not changed:
            return
        await self._store.report(self._node_id, changed, self._keeper.interval)
        held = {r[0] for r in reports}
        self._written = {t: r for t, r in self._written.items() if t in held}
        self._written.update((r[0], r) for r in changed)

    # --- reading the cluster's view -------------------------------------------------------------

    def _from_row(self, row: DirectoryRow) -> dict[str, Any]:
        live = (
            row.owner is not None
            and row.expires_at > self._clock.time()
            and not row.owner_stopped
            and row.owner_heartbeat_at is not None
        )
        connected = live and row.status == "connected" and row.connected_at
        return {
            "token": row.token,
            # A new owner has not reported yet: it is connecting the device.
            "status": (row.status or "connecting") if live else "disconnected",
            "jid": row.jid,
            "pushName": row.push_name,
            "connectedAt": utc_timestamp(row.connected_at) if connected and row.connected_at else None,
            "node": row.owner if live else None,
        }

    async def _rows(self, token: str | None = None) -> list[DirectoryRow] | None:
        try:
            return await self._store.directory(READ_TIMEOUT_S, token)
        except DB_ERRORS as exc:
            log.warning("cluster directory unreadable; answering for this node", extra={"error": repr(exc)})
            return None

    async def summaries(self, local: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every device of the cluster, by token; this node's own view where it holds the device."""
        mine = {s["token"]: {**s, "node": self._node_id} for s in local if self._keeper.holds(s["token"])}
        rows = await self._rows()
        if rows is None:
            return [{**s, "node": self._node_id if s["token"] in mine else None} for s in local]
        merged = {s["token"]: {**s, "node": None} for s in local}
        merged.update((row.token, self._from_row(row)) for row in rows)
        merged.update(mine)
        return [merged[token] for token in sorted(merged)]

    async def detail(self, token: str) -> dict[str, Any] | None:
        """A device this node does not know, as the directory has it (its owner is down or unknown)."""
        rows = await self._rows(token)
        if not rows:
            return None
        found = self._from_row(rows[0])
        return {
            **found,
            "qr": None,
            "pairingCode": None,
            "code": None,
            "lastError": None,
            "banExpires": None,
        }

    async def sessions(self) -> list[dict[str, Any]]:
        """Every device whose session whatsmeow keeps in the shared database, as a restore lists them."""
        try:
            rows = await self._store.directory(READ_TIMEOUT_S)
        except DB_ERRORS as exc:
            raise errors.ApiError(errors.CLUSTER_DATABASE_UNAVAILABLE) from exc
        return [{"token": row.token, "paired": row.jid is not None} for row in rows]

    async def connect_args(self, token: str) -> dict[str, Any]:
        """What a neonize connect needs from the shared registry: the JID its session is stored under.

        Asked with a short timeout before anything reaches Go, which would block forever on a database
        that accepts connections but never answers (docs/neonize.md §6)."""
        try:
            jid = await self._store.session_jid(token, READ_TIMEOUT_S)
        except DB_ERRORS as exc:
            raise errors.ApiError(errors.CLUSTER_DATABASE_UNAVAILABLE) from exc
        return {"jid": jid} if jid else {}
