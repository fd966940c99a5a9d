"""The native WebSocket: first-message auth, a fan-out hub, subscriptions."""
