"""The engine backends the worker can load, one package each (docs/architecture.md "Engines")."""
