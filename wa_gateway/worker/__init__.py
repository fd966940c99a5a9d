"""The engine worker process: one backend serving the gateway's commands, and the journal of its events."""
