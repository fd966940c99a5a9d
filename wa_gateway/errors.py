"""Every user-facing error code and message, in one place.

The codes, statuses and messages are the compatibility surface with the Go gateway
(docs/architecture.md "API contract"): keep them exact. Handlers raise ``ApiError(CATALOG_ENTRY)``;
the error middleware renders it in the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    code: str
    message: str


class ApiError(Exception):
    """An error the client is told about: status, code and message go out in the envelope."""

    def __init__(
        self,
        spec: ErrorSpec,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        self.status = spec.status
        # The body field at fault, sent as ``error.field`` beside Go's unchanged message (docs/dropin.md).
        self.field = field
        self.code = spec.code
        self.message = message if message is not None else spec.message
        self.headers = headers or {}
        super().__init__(f"{self.code}: {self.message}")


# Generic HTTP-level failures (the Go gateway sent INTERNAL_ERROR for all of them; see docs/architecture.md).
NOT_FOUND: Final = ErrorSpec(404, "NOT_FOUND", "Route not found")
METHOD_NOT_ALLOWED: Final = ErrorSpec(405, "METHOD_NOT_ALLOWED", "Method not allowed")
PAYLOAD_TOO_LARGE: Final = ErrorSpec(413, "PAYLOAD_TOO_LARGE", "Request body too large")
INTERNAL_ERROR: Final = ErrorSpec(500, "INTERNAL_ERROR", "Internal server error")
UPGRADE_REQUIRED: Final = ErrorSpec(426, "UPGRADE_REQUIRED", "Upgrade Required")
SERVICE_UNAVAILABLE: Final = ErrorSpec(503, "SERVICE_UNAVAILABLE", "Service is shutting down")

# Authentication, origin and rate limits.
MISSING_API_KEY: Final = ErrorSpec(401, "UNAUTHORIZED", "Missing API key")
INVALID_API_KEY: Final = ErrorSpec(401, "UNAUTHORIZED", "Invalid API key")
ORIGIN_NOT_ALLOWED: Final = ErrorSpec(403, "FORBIDDEN", "Origin not allowed")
RATE_LIMITED: Final = ErrorSpec(429, "RATE_LIMITED", "Too many requests, please try again later")

# Request bodies and fields.
INVALID_REQUEST: Final = ErrorSpec(400, "INVALID_REQUEST", "Invalid request body")
MISSING_TOKEN_DEVICE: Final = ErrorSpec(400, "MISSING_TOKEN", "Token (phone number) is required")
MISSING_TOKEN: Final = ErrorSpec(400, "MISSING_TOKEN", "Token is required")
INVALID_TOKEN: Final = ErrorSpec(400, "INVALID_TOKEN", "Token must be a phone number (7-15 digits)")
INVALID_METHOD: Final = ErrorSpec(400, "INVALID_METHOD", "Method must be 'qr' or 'code'")
INVALID_MESSAGE: Final = ErrorSpec(400, "INVALID_MESSAGE", "Message text cannot be empty")
MESSAGE_TOO_LONG: Final = ErrorSpec(400, "INVALID_MESSAGE", "Message text is too long")
INVALID_PHONE: Final = ErrorSpec(400, "INVALID_PHONE", "Invalid phone number")
INVALID_QUERY: Final = ErrorSpec(400, "INVALID_QUERY", "Invalid query parameter")

# Devices and the engine.
DEVICE_NOT_FOUND: Final = ErrorSpec(404, "DEVICE_NOT_FOUND", "Device not found")
DEVICE_NOT_CONNECTED: Final = ErrorSpec(409, "DEVICE_NOT_CONNECTED", "Device not connected")
DEVICE_ALREADY_CONNECTED: Final = ErrorSpec(409, "DEVICE_ALREADY_CONNECTED", "Device already connected")
QR_NOT_AVAILABLE: Final = ErrorSpec(404, "QR_NOT_AVAILABLE", "No QR code available for this device")
CONNECTION_FAILED: Final = ErrorSpec(500, "CONNECTION_FAILED", "Failed to connect device")
SEND_FAILED: Final = ErrorSpec(500, "SEND_FAILED", "Failed to send message")
VALIDATION_FAILED: Final = ErrorSpec(500, "VALIDATION_FAILED", "Phone validation failed")
PHONE_NOT_FOUND: Final = ErrorSpec(404, "NOT_FOUND", "Phone number not found on WhatsApp")
ENGINE_UNAVAILABLE: Final = ErrorSpec(503, "ENGINE_UNAVAILABLE", "WhatsApp engine is not available")
ENGINE_TIMEOUT: Final = ErrorSpec(504, "ENGINE_TIMEOUT", "WhatsApp engine did not answer in time")
INVALID_IDEMPOTENCY_KEY: Final = ErrorSpec(
    400, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1 to 255 printable ASCII characters"
)
IDEMPOTENCY_KEY_REUSED: Final = ErrorSpec(
    422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used for a different request"
)
IDEMPOTENCY_IN_PROGRESS: Final = ErrorSpec(
    409, "IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is still being processed"
)
# The send reached the engine, which then died or did not answer: it may have gone out (docs/durability.md).
SEND_OUTCOME_UNKNOWN: Final = ErrorSpec(
    503, "SEND_OUTCOME_UNKNOWN", "The message may have been sent; the engine stopped before confirming it"
)

# Contacts.
FETCH_FAILED: Final = ErrorSpec(500, "FETCH_FAILED", "Failed to retrieve contacts")
# The Go gateway clamped bad paging silently (docs/go-gateway.md §4); we say what is wrong.
INVALID_LIMIT: Final = ErrorSpec(
    400,
    "INVALID_QUERY",
    "Query parameter 'limit' must be a whole number of at least 1 (above 1000 means 1000)",
)
# The Go gateway answered JSON for any format but "csv" (XML included); naming the two keeps that for
# every value Go clients send and says so instead of answering the wrong format.
INVALID_FORMAT: Final = ErrorSpec(400, "INVALID_QUERY", "Query parameter 'format' must be json or csv")
INVALID_OFFSET: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'offset' must be a whole number from 0 to 9223372036854775807"
)

# The message store (docs/messages.md).
INVALID_MESSAGES_LIMIT: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'limit' must be a whole number from 1 to 500"
)
INVALID_CHATS_LIMIT: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'limit' must be a whole number from 1 to 1000"
)
INVALID_BEFORE: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'before' must be a nextCursor or a message's cursor"
)
INVALID_AFTER: Final = ErrorSpec(400, "INVALID_QUERY", "Query parameter 'after' must be a message's cursor")
MESSAGE_STORE_OFF: Final = ErrorSpec(
    404, "MESSAGE_STORE_OFF", "The message store is off (MESSAGE_RETENTION_DAYS=0)"
)
MESSAGES_FAILED: Final = ErrorSpec(500, "MESSAGES_FAILED", "Failed to read stored messages")

# Webhook operator endpoints.
WEBHOOK_NOT_FOUND: Final = ErrorSpec(404, "WEBHOOK_NOT_FOUND", "Dead-letter webhook not found")

# Messaging beyond text: recipients, message actions, media, polls, presence, groups.
INVALID_RECIPIENT: Final = ErrorSpec(
    400,
    "INVALID_PHONE",
    "Invalid recipient: use a phone number or a JID ending in @s.whatsapp.net, @lid or @g.us",
)
MISSING_CHAT: Final = ErrorSpec(400, "INVALID_CHAT", "chat is required: a phone number or a JID")
INVALID_CHAT: Final = ErrorSpec(
    400, "INVALID_CHAT", "Invalid chat: use a phone number or a JID ending in @s.whatsapp.net, @lid or @g.us"
)
INVALID_SENDER: Final = ErrorSpec(
    400, "INVALID_SENDER", "sender must be a phone number or a JID ending in @s.whatsapp.net or @lid"
)
INVALID_MENTIONS: Final = ErrorSpec(
    400,
    "INVALID_MENTIONS",
    "mentions must be a list of at most 1024 phone numbers or JIDs ending in @s.whatsapp.net or @lid",
)
INVALID_MESSAGE_ID: Final = ErrorSpec(400, "INVALID_MESSAGE_ID", "Invalid message id")
INVALID_REPLY_TO: Final = ErrorSpec(400, "INVALID_MESSAGE_ID", "replyTo must be a message id")
INVALID_MESSAGE_IDS: Final = ErrorSpec(
    400, "INVALID_MESSAGE_ID", "messageIds must be a list of 1 to 1000 message ids"
)
MESSAGE_NOT_FOUND: Final = ErrorSpec(404, "MESSAGE_NOT_FOUND", "Message not found")
INVALID_EMOJI: Final = ErrorSpec(
    400, "INVALID_EMOJI", 'emoji must be exactly one emoji, or "" to remove the reaction'
)
ACTION_FAILED: Final = ErrorSpec(500, "ACTION_FAILED", "Failed to apply the message action")
ENGINE_REJECTED: Final = ErrorSpec(400, "INVALID_REQUEST", "WhatsApp engine rejected the request")
INVALID_MEDIA_TYPE: Final = ErrorSpec(
    400, "INVALID_MEDIA_TYPE", "type must be one of image, video, audio, voice, document, sticker"
)
MEDIA_SOURCE_REQUIRED: Final = ErrorSpec(
    400, "INVALID_MEDIA", "Send the media as exactly one of: a multipart file upload, base64 or url"
)
MEDIA_EMPTY: Final = ErrorSpec(400, "INVALID_MEDIA", "Media file is empty")
INVALID_BASE64: Final = ErrorSpec(400, "INVALID_MEDIA", "base64 is not valid base64 data")
INVALID_MIMETYPE: Final = ErrorSpec(400, "INVALID_MEDIA", "mimetype must look like type/subtype")
MIMETYPE_MISMATCH: Final = ErrorSpec(400, "INVALID_MEDIA", "mimetype does not match the file's content")
MEDIA_CONTENT_MISMATCH: Final = ErrorSpec(
    400, "INVALID_MEDIA", "The file is not a supported {kind} format (accepted: {accepted}; got {got})"
)
CAPTION_NOT_SUPPORTED: Final = ErrorSpec(
    400, "INVALID_MEDIA", "caption can only be sent with image, video and document media"
)
CAPTION_TOO_LONG: Final = ErrorSpec(400, "INVALID_MEDIA", "caption is too long")
INVALID_FILENAME: Final = ErrorSpec(
    400, "INVALID_MEDIA", "filename must be 1-255 characters without slashes or control characters"
)
INVALID_MEDIA_UPLOAD: Final = ErrorSpec(
    400, "INVALID_MEDIA", "The multipart body must hold text fields and one file part named 'file'"
)
MEDIA_TOO_LARGE: Final = ErrorSpec(
    413, "MEDIA_TOO_LARGE", "Media file is too large: {kind} files may be at most {limit} bytes"
)
INVALID_MEDIA_URL: Final = ErrorSpec(400, "INVALID_MEDIA_URL", "url must be an http:// or https:// URL")
MEDIA_URL_NOT_ALLOWED: Final = ErrorSpec(
    400, "MEDIA_URL_NOT_ALLOWED", "url points to a private, loopback or reserved address"
)
MEDIA_FETCH_FAILED: Final = ErrorSpec(422, "MEDIA_FETCH_FAILED", "Could not download the media url: {reason}")
FFMPEG_UNAVAILABLE: Final = ErrorSpec(
    422,
    "FFMPEG_UNAVAILABLE",
    "Audio, voice and video need ffmpeg and ffprobe, which are not installed on the gateway host",
)
REACHOUT_LIMITED: Final = ErrorSpec(
    429,
    "REACHOUT_LIMITED",
    "WhatsApp is limiting messages from this account to new contacts for now; try again later",
)
HISTORY_SYNC_PENDING: Final = ErrorSpec(
    409,
    "HISTORY_SYNC_PENDING",
    "The device was just linked and has not finished its first history sync with the phone; "
    "try again once it has (usually within minutes)",
)
MEDIA_NOT_AVAILABLE: Final = ErrorSpec(404, "MEDIA_NOT_FOUND", "No downloadable media for this message")
MEDIA_DOWNLOAD_FAILED: Final = ErrorSpec(500, "DOWNLOAD_FAILED", "Failed to download media")
INVALID_POLL_QUESTION: Final = ErrorSpec(
    400, "INVALID_POLL", "question cannot be empty and may have at most 255 characters"
)
INVALID_POLL_OPTIONS: Final = ErrorSpec(
    400, "INVALID_POLL", "options must be 2 to 12 unique, non-empty strings of at most 100 characters"
)
INVALID_PRESENCE: Final = ErrorSpec(
    400, "INVALID_PRESENCE", "state must be one of available, unavailable, composing, recording, paused"
)
PRESENCE_NEEDS_CHAT: Final = ErrorSpec(
    400, "INVALID_PRESENCE", "to is required with composing, recording and paused"
)
PRESENCE_NO_CHAT: Final = ErrorSpec(
    400, "INVALID_PRESENCE", "to is only allowed with composing, recording and paused"
)
INVALID_GROUP: Final = ErrorSpec(400, "INVALID_GROUP", "Invalid group id: use <digits>@g.us")
GROUP_NOT_FOUND: Final = ErrorSpec(404, "GROUP_NOT_FOUND", "Group not found")
GROUPS_FAILED: Final = ErrorSpec(500, "GROUPS_FAILED", "Failed to retrieve groups")
GROUP_FAILED: Final = ErrorSpec(500, "GROUP_FAILED", "Failed to change the group")
GROUP_NOT_ADMIN: Final = ErrorSpec(403, "NOT_GROUP_ADMIN", "Only the group's admins can do this")
GROUP_INVITE_INVALID: Final = ErrorSpec(
    404, "INVITE_INVALID", "The invite link is not valid: it was revoked, it expired, or it never existed"
)
GROUP_ALREADY_MEMBER: Final = ErrorSpec(409, "ALREADY_MEMBER", "This device is already in the group")
INVALID_GROUP_SUBJECT: Final = ErrorSpec(400, "INVALID_GROUP", "subject must be 1 to 100 characters")
INVALID_GROUP_TOPIC: Final = ErrorSpec(400, "INVALID_GROUP", "topic must be at most 2048 characters")
INVALID_GROUP_PARTICIPANTS: Final = ErrorSpec(
    400, "INVALID_PARTICIPANTS", "participants must be a list of 1 to 256 phone numbers or JIDs"
)
INVALID_GROUP_ACTION: Final = ErrorSpec(
    400, "INVALID_GROUP", "action must be one of add, remove, promote, demote"
)
GROUP_UPDATE_EMPTY: Final = ErrorSpec(
    400, "INVALID_GROUP", "Give at least one of subject, topic, announce, locked"
)
INVALID_INVITE: Final = ErrorSpec(
    400, "INVALID_INVITE", "invite must be a link https://chat.whatsapp.com/<code> or its code"
)
INVALID_GROUP_PICTURE: Final = ErrorSpec(400, "INVALID_MEDIA", "A group picture must be a JPEG image")
NEWSLETTER_NOT_FOUND: Final = ErrorSpec(404, "NEWSLETTER_NOT_FOUND", "Channel not found")
CHANNEL_NOT_ADMIN: Final = ErrorSpec(403, "NOT_CHANNEL_ADMIN", "Only the channel's owner and admins can post")
NEWSLETTERS_FAILED: Final = ErrorSpec(500, "NEWSLETTERS_FAILED", "Failed to reach the channel")
INVALID_NEWSLETTER: Final = ErrorSpec(
    400, "INVALID_NEWSLETTER", "Invalid channel id: use <digits>@newsletter"
)
INVALID_NEWSLETTER_NAME: Final = ErrorSpec(
    400, "INVALID_NEWSLETTER", "name must be 1 to 100 characters, description at most 2048"
)
NEWSLETTER_FOLLOW_TARGET: Final = ErrorSpec(
    400,
    "INVALID_NEWSLETTER",
    "Give jid or invite (a channel link https://whatsapp.com/channel/<code> or its code)",
)
NEWSLETTER_MUTED_REQUIRED: Final = ErrorSpec(400, "INVALID_NEWSLETTER", "muted (true or false) is required")
NEWSLETTER_INVITE_INVALID: Final = ErrorSpec(
    404, "INVITE_INVALID", "The channel link is not valid: it was reset, or it never existed"
)
NEWSLETTER_ALREADY_FOLLOWED: Final = ErrorSpec(
    409, "ALREADY_MEMBER", "This device already follows the channel"
)
INVALID_NEWSLETTER_LIMIT: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'limit' must be a whole number from 1 to 100"
)
INVALID_NEWSLETTER_BEFORE: Final = ErrorSpec(
    400, "INVALID_QUERY", "Query parameter 'before' must be a nextCursor or a post's serverId"
)

# Presence tracking (docs/presence.md).
MISSING_PRESENCE_CONTACT: Final = ErrorSpec(
    400, "INVALID_PHONE", "to is required: a phone number or a contact JID"
)
INVALID_PRESENCE_CONTACT: Final = ErrorSpec(
    400, "INVALID_PHONE", "Invalid contact: use a phone number or a JID ending in @s.whatsapp.net or @lid"
)
PRESENCE_UNKNOWN: Final = ErrorSpec(
    404, "PRESENCE_UNKNOWN", "No presence known for this contact yet: subscribe with POST /presence/subscribe"
)
PRESENCE_SUBSCRIBE_FAILED: Final = ErrorSpec(500, "PRESENCE_FAILED", "Failed to subscribe to the presence")

# Status posts (docs/status.md).
INVALID_STATUS_TYPE: Final = ErrorSpec(
    400, "INVALID_MEDIA_TYPE", "A status is an image or a video: type must be image or video"
)
INVALID_STATUS_COLOR: Final = ErrorSpec(
    400, "INVALID_STATUS", "backgroundColor must be a hex colour: #RRGGBB or #AARRGGBB"
)
INVALID_STATUS_FONT: Final = ErrorSpec(
    400, "INVALID_STATUS", "font must be one of WhatsApp's status fonts: 0, 1, 2, 6, 7, 8, 9, 10"
)
STATUS_NO_REPLY: Final = ErrorSpec(400, "INVALID_STATUS", "A status cannot quote a message: drop replyTo")
STATUS_FAILED: Final = ErrorSpec(500, "SEND_FAILED", "Failed to post the status")

# WebSocket first-message auth failures (sent as {"type":"auth","success":false,"message":...}).
WS_INVALID_API_KEY: Final = "Invalid API key"
WS_API_KEY_REQUIRED: Final = "API key is required"
WS_FIRST_MESSAGE_NOT_AUTH: Final = "First message must be auth"
WS_INVALID_FORMAT: Final = "Invalid message format"
WS_MESSAGE_TOO_LARGE: Final = "Message too large"
WS_AUTH_TIMEOUT: Final = "Authentication timeout"

# WebSocket connection-error messages (the seed's exact strings).
WS_DISCONNECTED: Final = "Disconnected"
WS_LOGGED_OUT: Final = "Logged out"
WS_QR_EXPIRED: Final = "QR code expired"

# Scoped API keys (docs/api-keys.md). A 403 here never counts against RATE_LIMIT_AUTH_FAILURES.
SCOPE_FORBIDDEN: Final = ErrorSpec(403, "FORBIDDEN", "This API key lacks the scope this route needs: {scope}")
DEVICE_FORBIDDEN: Final = ErrorSpec(403, "FORBIDDEN", "This API key may not use this device")
KEY_NOT_FOUND: Final = ErrorSpec(404, "KEY_NOT_FOUND", "API key not found")
INVALID_KEY_NAME: Final = ErrorSpec(
    400, "INVALID_KEY", "name must be 1-100 characters without control characters"
)
INVALID_KEY_SCOPES: Final = ErrorSpec(
    400,
    "INVALID_KEY",
    "scopes must be a non-empty list of: admin, contacts:read, devices:read, devices:write, keys:admin,"
    " messages:read, messages:send, webhooks:admin",
)
INVALID_KEY_DEVICES: Final = ErrorSpec(
    400, "INVALID_KEY", "devices must be a non-empty list of device tokens (7-15 digits), or omitted for all"
)
KEY_EXCEEDS_CALLER: Final = ErrorSpec(
    403, "FORBIDDEN", "A key can only grant scopes and devices the key creating it has"
)
ADMIN_KEY_NOT_REVOCABLE: Final = ErrorSpec(400, "INVALID_KEY", "The API_KEY admin key cannot be revoked")
WS_KEY_REVOKED: Final = "API key revoked"
WS_DEVICE_FORBIDDEN: Final = "This API key may not use device {token}"

# Per-device webhooks (docs/device-webhooks.md).
INVALID_WEBHOOK_URL: Final = ErrorSpec(400, "INVALID_WEBHOOK", "url must be an http:// or https:// URL")
WEBHOOK_URL_NOT_ALLOWED: Final = ErrorSpec(
    400, "WEBHOOK_URL_NOT_ALLOWED", "url points to a private, loopback or reserved address"
)
INVALID_WEBHOOK_SECRET: Final = ErrorSpec(
    400, "INVALID_WEBHOOK", "secret must be a non-empty string (whsec_ secrets need valid base64)"
)
INVALID_WEBHOOK_EVENTS: Final = ErrorSpec(
    400,
    "INVALID_WEBHOOK",
    "events must be a non-empty list of event names or patterns with * (like message.* or *)",
)
DEVICE_WEBHOOK_NOT_FOUND: Final = ErrorSpec(404, "WEBHOOK_NOT_FOUND", "No webhook is set for this device")
WEBHOOK_EVENT_NOT_FOUND: Final = ErrorSpec(
    404, "WEBHOOK_NOT_FOUND", "No delivered webhook event with this id (delivered events are kept 3 days)"
)

# Several nodes on one database (docs/cluster.md).
DEVICE_OWNED_ELSEWHERE: Final = ErrorSpec(409, "DEVICE_OWNED_ELSEWHERE", "Another node runs this device")
CLUSTER_FORBIDDEN: Final = ErrorSpec(
    403, "CLUSTER_FORBIDDEN", "Forwarded requests must carry this cluster's CLUSTER_SECRET"
)
CLUSTER_DATABASE_UNAVAILABLE: Final = ErrorSpec(
    503, "DATABASE_UNAVAILABLE", "The cluster's database cannot be reached"
)
CLUSTER_NODE_UNREACHABLE: Final = ErrorSpec(
    503, "CLUSTER_NODE_UNREACHABLE", "The node that runs this device cannot be reached"
)
