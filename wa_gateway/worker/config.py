"""How the worker gets its configuration: a JSON object read from an inherited pipe.

The gateway writes the object into a pipe and passes its read end, named by ``WA_ENGINE_WORKER_CONFIG_FD``;
the worker reads it to the end and closes it. The environment is not used for the object itself because
it may carry DATABASE_URL's password and a process's starting environment stays readable in
``/proc/<pid>/environ`` for its whole life (proc(5)). ``WA_ENGINE_WORKER_CONFIG`` (the object itself) is still
read when no pipe is given, for a worker started by hand.
"""

from __future__ import annotations

import os
from typing import Any, Final

import orjson

CONFIG_FD_ENV: Final = "WA_ENGINE_WORKER_CONFIG_FD"
CONFIG_ENV: Final = "WA_ENGINE_WORKER_CONFIG"
# Linux pipes buffer 64 KiB (pipe(7)): a config written before the worker starts must fit, or writing blocks.
MAX_CONFIG_BYTES: Final = 60_000


def config_pipe(payload: bytes) -> int:
    """A pipe holding ``payload``; returns its read end (inheritable) for the worker, the caller closes it."""
    if len(payload) > MAX_CONFIG_BYTES:
        raise OSError(f"engine worker config is {len(payload)} bytes, more than {MAX_CONFIG_BYTES}")
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, payload)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end


def _read_fd(raw_fd: str) -> bytes:
    fd = int(raw_fd)
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_config() -> tuple[dict[str, Any], str | None]:
    """The worker's configuration, or an error saying why there is none (the worker reports it and exits)."""
    raw_fd = os.environ.pop(CONFIG_FD_ENV, None)
    raw_env = os.environ.pop(CONFIG_ENV, None)
    source = CONFIG_FD_ENV if raw_fd is not None else CONFIG_ENV
    try:
        raw: bytes | str | None = _read_fd(raw_fd) if raw_fd is not None else raw_env
    except (OSError, ValueError) as exc:
        return {}, f"{CONFIG_FD_ENV} is not a readable file descriptor: {exc}"
    if raw is None:
        return {}, f"{CONFIG_FD_ENV} is not set"
    try:
        config = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return {}, f"{source} is not valid JSON: {exc}"
    if not isinstance(config, dict):
        return {}, f"{source} must hold a JSON object"
    return config, None
