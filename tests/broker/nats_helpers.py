"""Reading the WA_EVENTS stream back from a real nats-server, with deadlines."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import nats
import orjson

from wa_gateway.broker.nats_publisher import STREAM


@dataclass(frozen=True, slots=True)
class Published:
    subject: str
    msg_id: str
    token: str
    payload: dict[str, object]


async def stream_messages(url: str, expected: int, deadline_s: float = 30.0) -> list[Published]:
    """Every message in the stream once it holds ``expected`` of them (and no more after a short settle)."""
    nc = await nats.connect(servers=[url], connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + deadline_s
        count = -1
        while time.monotonic() < deadline:
            try:
                count = (await js.stream_info(STREAM)).state.messages
            except Exception:
                count = -1
            if count >= expected:
                break
            await asyncio.sleep(0.05)
        assert count >= expected, f"stream holds {count} messages, expected {expected}"
        info = await js.stream_info(STREAM)
        found: list[Published] = []
        if info.state.messages == 0:  # an empty stream reports first_seq 0, which get_msg refuses
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(STREAM, seq)
            payload = orjson.loads(msg.data or b"{}")
            headers = msg.headers or {}
            msg_id = str(headers.get("Nats-Msg-Id", ""))
            found.append(Published(str(msg.subject), msg_id, str(payload["token"]), payload))
        return found
    finally:
        await nc.close()
