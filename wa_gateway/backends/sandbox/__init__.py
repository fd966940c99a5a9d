"""The sandbox: a simulated WhatsApp network behind the engine contract, and its control routes."""
