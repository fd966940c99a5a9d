#!/usr/bin/env python3
"""Fuzz the running gateway from its own OpenAPI document with schemathesis (``make fuzz``).

Starts the gateway with the sandbox engine on a free port in a throwaway data directory, runs schemathesis
against ``/openapi.json`` (no 5xx, every response matching its documented schema) in every phase, the
stateful one included (sequences such as pair, read and delete a device, following the document's links),
and stops the gateway.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "fuzz-api-key-0123456789"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "30")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gateway exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gateway did not become healthy")


def main() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="wa-gateway-fuzz-") as tmp:
        env = {
            **os.environ,
            "API_KEY": API_KEY,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WA_ENGINE": "sandbox",
            "DATA_DIR": str(Path(tmp) / "data"),
            "TYPING_DELAY_MS": "0",
            "RATE_LIMIT_DEVICES": "0",
            "RATE_LIMIT_MESSAGES": "0",
            "RATE_LIMIT_VALIDATE": "0",
            "RATE_LIMIT_AUTH_FAILURES": "0",
            # A closed port: webhook events queue and retry, so the webhook routes have something to show.
            "WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "LOG_LEVEL": "warn",
        }
        log = open(Path(tmp) / "gateway.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "gateway.py")], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        fuzz_status = 1
        try:
            wait_healthy(url, proc)
            st = Path(sys.executable).with_name("st")
            fuzz_status = subprocess.run(
                [
                    str(st),
                    "run",
                    f"{url}/openapi.json",
                    "--header",
                    f"X-API-Key: {API_KEY}",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--checks",
                    "not_a_server_error,response_schema_conformance",
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--seed",
                    "20261128",
                    "--request-timeout",
                    "15",
                ],
                cwd=tmp,
                check=False,
            ).returncode
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            if fuzz_status != 0 or proc.returncode != 0:
                text = (Path(tmp) / "gateway.log").read_text(errors="replace")
                print(text[-5000:], file=sys.stderr)
        return fuzz_status if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
