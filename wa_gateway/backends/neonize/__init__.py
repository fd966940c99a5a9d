"""Real WhatsApp through neonize (whatsmeow), loaded only inside the worker (docs/neonize.md)."""
