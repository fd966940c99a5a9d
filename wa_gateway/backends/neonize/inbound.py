"""A device's incoming message events: the contract event each one is, and the message cache kept current.

Runs on the device's consumer task, in Go's order, while the client is live (the consumer holds the
device's lifecycle lock), so the one Go call here (poll-vote decryption) cannot race a stop.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import incoming
from wa_gateway.backends.neonize.cached import cache_entry, ref_of
from wa_gateway.backends.neonize.events import fill_required
from wa_gateway.engine.contract import (
    EV_MESSAGE,
    EV_MESSAGE_EDITED,
    EV_MESSAGE_REVOKED,
    EV_POLL_VOTE,
    EV_REACTION,
)
from wa_gateway.worker.message_cache import MessageCache

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], None]


class InboundMessages:
    def __init__(self, emit: Emit, cache: Callable[[], MessageCache], lid_to_pn: dict[str, str]) -> None:
        self._emit = emit
        self._cache = cache
        self._lid_to_pn = lid_to_pn

    async def handle(self, event: Any, client: Any) -> None:
        kind = incoming.action(event.Message)
        if kind == "message":
            data = incoming.incoming_message(event, self._lid_to_pn)
            if data is not None:
                data["ref"] = ref_of(event)
                chat_alt = incoming.chat_alternative(event.Info.MessageSource, self._lid_to_pn)
                self._cache().put(cache_entry(event, data, chat_alt))
                self._emit(EV_MESSAGE, data)
        elif kind == "reaction":
            self._emit(EV_REACTION, incoming.reaction(event, self._lid_to_pn))
        elif kind == "edit":
            data = incoming.edited(event, self._lid_to_pn)
            self._cache().replace_text(data["id"], data["text"])
            self._emit(EV_MESSAGE_EDITED, data)
        elif kind == "revoke":
            data = incoming.revoked(event, self._lid_to_pn)
            self._cache().discard(data["id"])
            self._emit(EV_MESSAGE_REVOKED, data)
        elif kind == "poll_vote":
            await self._poll_vote(event, client)

    async def _poll_vote(self, event: Any, client: Any) -> None:
        # Votes are encrypted with the poll's secret, which whatsmeow keeps; Go decrypts them.
        complete = fill_required(proto.Message.FromString(event.SerializePartialToString()))
        try:
            vote = await client.decrypt_poll_vote(complete)
        except NeonizeError as exc:
            log.info("a poll vote could not be decrypted: %s", exc)
            return
        poll = self._cache().get(incoming.poll_id(event))
        # Each selected option comes as the SHA-256 of its name (whatsmeow HashPollOptions).
        names = (
            {hashlib.sha256(option.encode()).digest(): option for option in poll.poll_options} if poll else {}
        )
        options = [names.get(bytes(digest), bytes(digest).hex()) for digest in vote.selectedOptions]
        self._emit(EV_POLL_VOTE, incoming.poll_vote(event, options, self._lid_to_pn))
