"""WhatsApp channels (newsletters): the /newsletters routes, their OpenAPI spec and the newsletter.* events
(docs/channels.md)."""
