"""Media for outgoing and incoming messages: uploads, base64, URLs, sniffing, limits and retention."""
