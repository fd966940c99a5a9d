"""The gateway side of the engine: the contract both processes speak, IPC framing, the supervisor."""
