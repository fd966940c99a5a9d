"""The WhatsApp engine: a supervised worker process behind a small command/event contract."""
