"""Benchmarks: start the gateway on 127.0.0.1, measure it against a bare baseline, write BENCHMARKS.md."""
