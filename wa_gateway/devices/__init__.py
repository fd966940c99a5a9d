"""Devices: one state machine per token, the engine calls behind them, and their HTTP routes."""
