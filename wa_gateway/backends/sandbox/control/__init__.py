"""The gateway's /sandbox/... control routes and their OpenAPI specs (they only send commands)."""
