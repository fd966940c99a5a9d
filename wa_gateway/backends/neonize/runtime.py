"""Loading neonize safely: its shared library and libmagic checked first, its logging side effects undone."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import importlib.metadata
import importlib.util
import io
import logging
import os
import platform
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from wa_gateway import vocabulary as v

log = logging.getLogger(__name__)

NEONIZE_VERSION: Final = "0.5.2"
# The generated _pb2 modules refuse older runtimes at import (docs/neonize.md §9).
MIN_PROTOBUF: Final = (7, 34, 1)
LIBMAGIC_NAMES: Final = ("libmagic.so.1", "libmagic.so", "libmagic.1.dylib", "libmagic.dylib")
DEFAULT_DEVICE_NAME: Final = "Chrome (Linux)"

# Go reads this logger's *own* level once per connect() as the minimum it marshals across the FFI;
# NOTSET means everything, DEBUG included (docs/neonize.md §8).
GO_LEVEL_LOGGER: Final = "neonize.utils.log"
WHATSMEOW_LOGGERS: Final = ("whatsmeow", "Whatsmeow")

# whatsmeow validates the pairing-code display name as `Browser (OS)` (docs/neonize.md §2).
_DEVICE_NAME_RE: Final = re.compile(r"(?P<browser>[A-Za-z][A-Za-z ]{0,29}?) \((?P<os>[^()]{1,40})\)")
BROWSERS: Final = ("chrome", "firefox", "edge", "safari", "opera", "ie")
_ARCHES: Final = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True, slots=True)
class DeviceName:
    """How the linked device presents itself: ``display`` is the exact `Browser (OS)` text."""

    display: str
    browser: str  # one of BROWSERS
    os: str


def parse_device_name(text: str) -> DeviceName:
    match = _DEVICE_NAME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"device name {text!r} must have the form 'Browser (OS)', e.g. {DEFAULT_DEVICE_NAME!r}"
        )
    browser = match["browser"].strip().lower()
    if browser == "internet explorer":
        browser = "ie"
    if browser not in BROWSERS:
        raise ValueError(
            f"device name {text!r}: the browser must be one of Chrome, Firefox, Edge, Safari, Opera, IE"
        )
    return DeviceName(display=text.strip(), browser=browser, os=match["os"].strip())


def _number(config: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"engine config {key}={value!r}: expected a number from {low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True, slots=True)
class NeonizeSettings:
    data_dir: Path
    log_level: str = "info"
    device_name: str = DEFAULT_DEVICE_NAME
    send_presence_on_connect: bool = False
    reconnect_max_attempts: int = 0  # 0: for as long as the session is valid
    reconnect_backoff_s: float = 2.0
    reconnect_max_backoff_s: float = 300.0
    reconnect_jitter: float = 0.2  # each wait is shortened by up to this fraction, so devices spread out
    qr_watchdog_s: float = 170.0
    watchdog_s: float = 120.0  # a connected session silent this long is reconnected; 0: off
    message_cache_size: int = 5_000  # recent messages per device, see message_cache
    # DATABASE_URL: whatsmeow keeps every session there instead of DATA_DIR/sessions (docs/cluster.md).
    database_url: str | None = None

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / v.SESSIONS_DIR

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NeonizeSettings:
        data_dir = config.get("data_dir")
        if not isinstance(data_dir, str | Path) or not str(data_dir):
            raise ValueError("engine config data_dir is required")
        log_level = str(config.get("log_level") or "info").strip().lower()
        if log_level not in v.LOG_LEVELS:
            log.warning("engine config log_level=%r is not a level; using info", log_level)
            log_level = "info"
        device_name = str(config.get("device_name") or DEFAULT_DEVICE_NAME)
        parse_device_name(device_name)
        database_url = config.get("database_url")
        if database_url is not None and not isinstance(database_url, str):
            raise ValueError("engine config database_url must be a string")
        presence = config.get("send_presence_on_connect", False)
        if not isinstance(presence, bool):
            raise ValueError(f"engine config send_presence_on_connect={presence!r}: expected true or false")
        return cls(
            data_dir=Path(data_dir),
            log_level=log_level,
            device_name=device_name,
            send_presence_on_connect=presence,
            reconnect_max_attempts=int(_number(config, "reconnect_max_attempts", 0, 0, 1_000_000)),
            reconnect_backoff_s=_number(config, "reconnect_backoff_s", 2.0, 0, 3600),
            reconnect_max_backoff_s=_number(config, "reconnect_max_backoff_seconds", 300.0, 1, 86400),
            reconnect_jitter=_number(config, "reconnect_jitter", 0.2, 0, 1),
            qr_watchdog_s=_number(config, "qr_watchdog_s", 170.0, 1, 3600),
            watchdog_s=_number(config, "watchdog_s", 120.0, 0, 86400),
            message_cache_size=int(_number(config, "message_cache_size", 5_000, 1, 1_000_000)),
            database_url=database_url or None,
        )


def shared_library_name(system: str | None = None, machine: str | None = None) -> str:
    """The file name neonize's ``_binder`` loads (``utils/platform.generated_name``, without its `uname`)."""
    os_name = (system or platform.system()).lower()
    arch = (machine or platform.machine()).lower()
    ext = {"windows": "dll", "darwin": "dylib"}.get(os_name, "so")
    return f"neonize-{os_name}-{_ARCHES.get(arch, arch)}.{ext}"


def find_neonize_package() -> Path:
    """neonize's package directory, located without importing it (its import loads or downloads Go)."""
    spec = importlib.util.find_spec("neonize")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The WhatsApp engine needs neonize=={NEONIZE_VERSION}, which is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def check_shared_library(package_dir: Path) -> Path:
    library = package_dir / shared_library_name()
    if not (package_dir / "_binder.py").is_file() or not library.is_file():
        # Without this check neonize's import would try to download the library (docs/neonize.md §7).
        raise RuntimeError(
            f"The WhatsApp engine library is missing: {library} does not exist. Reinstall "
            f"neonize=={NEONIZE_VERSION} from its wheel for this platform (a zipapp must be unpacked first)."
        )
    return library


def check_libmagic(names: tuple[str, ...] | None = None) -> str:
    """The libmagic python-magic will load (it looks it up the same way), or a clear RuntimeError."""
    candidates = names if names is not None else (ctypes.util.find_library("magic"), *LIBMAGIC_NAMES)
    for name in filter(None, candidates):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    raise RuntimeError(
        "libmagic is not installed, and neonize needs it: install the system package "
        "(Debian/Ubuntu: apt-get install libmagic1; Fedora: dnf install file-libs)"
    )


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_versions() -> None:
    try:
        neonize_version = importlib.metadata.version("neonize")
        protobuf_version = importlib.metadata.version("protobuf")
    except importlib.metadata.PackageNotFoundError as exc:
        raise RuntimeError(f"The WhatsApp engine needs {exc.name}, which is not installed") from exc
    if neonize_version != NEONIZE_VERSION:
        raise RuntimeError(f"The WhatsApp engine needs neonize=={NEONIZE_VERSION}, found {neonize_version}")
    if _version_tuple(protobuf_version) < MIN_PROTOBUF:
        raise RuntimeError(f"neonize needs protobuf>=7.34.1,<8, found {protobuf_version}")


def configure_logging(log_level: str) -> None:
    """Levels for neonize's and whatsmeow's loggers; must run before the first connect()."""
    level = v.LOG_LEVELS[log_level]
    logging.getLogger(GO_LEVEL_LOGGER).setLevel(level)
    for name in WHATSMEOW_LOGGERS:
        logging.getLogger(name).setLevel(level)
    logging.getLogger("neonize").setLevel(max(level, logging.INFO))
    # Its one warning is about media helpers this engine never calls.
    logging.getLogger("neonize.utils.ffmpeg").setLevel(logging.ERROR)


@contextlib.contextmanager
def _closing_popen() -> Iterator[None]:
    """neonize's platform probe reads ``os.popen("uname -a")`` twice at import and never closes it,
    leaving unreaped children and ResourceWarnings; while it imports, each pipe is read and closed at once."""
    real_popen = os.popen

    def popen(cmd: str, mode: str = "r", buffering: int = -1) -> io.StringIO:
        with real_popen(cmd, mode, buffering) as pipe:
            return io.StringIO(pipe.read())

    os.popen = popen  # type: ignore[assignment]
    try:
        yield
    finally:
        os.popen = real_popen


def import_neonize(log_level: str, package_dir: Path | None = None) -> None:
    """Check the runtime, then import neonize with logging configured first and its basicConfig undone."""
    check_shared_library(package_dir or find_neonize_package())
    check_libmagic()
    check_versions()
    configure_logging(log_level)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with _closing_popen():
            importlib.import_module("neonize.aioze.client")
    except OSError as exc:
        raise RuntimeError(
            f"The WhatsApp engine library could not be loaded (it needs glibc >= 2.34): {exc}"
        ) from exc
    except ImportError as exc:
        raise RuntimeError(f"neonize could not be imported: {exc}") from exc
    finally:
        # neonize.utils.log calls logging.basicConfig(level=INFO) at import (docs/neonize.md §8).
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    log.debug("neonize %s loaded", NEONIZE_VERSION)
