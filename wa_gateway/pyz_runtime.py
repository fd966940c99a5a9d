"""Running from a shiv .pyz: its build target, a check of its unpacked copy, and removal of stale copies."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib
import logging
import os
import platform
import shutil
import sys
import sysconfig
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

TARGET_MODULE: Final = "wa_gateway._pyz_target"
"""Written into the archive by build_pyz.sh; absent from a source checkout."""

# shiv's layout (shiv/bootstrap/__init__.py, extract_site_packages): each build unpacks into
# <root>/<archive name>_<build id>/site-packages, by way of "<that dir>.tmp", under the flock
# "<root>/.<that dir name>_lock".
SITE_PACKAGES: Final = "site-packages"
PARTIAL_SUFFIX: Final = ".tmp"
DELETING_SUFFIX: Final = ".deleting"
PROC: Final = Path("/proc")


@dataclass(frozen=True, slots=True)
class BuildTarget:
    python: str  # "3.11": the CPython minor whose compiled wheels are bundled
    platform: str  # "linux-x86_64", as sysconfig.get_platform() says


def build_target() -> BuildTarget | None:
    try:
        module = importlib.import_module(TARGET_MODULE)
    except ModuleNotFoundError:
        return None
    return BuildTarget(python=str(module.PYTHON), platform=str(module.PLATFORM))


def version_text(version: str, target: BuildTarget | None) -> str:
    if target is None:
        return f"wa-gateway {version}"
    return (
        f"wa-gateway {version} (pyz for CPython {target.python}, {target.platform}; "
        f"running {platform.python_version()})"
    )


def build_platform(sysconfig_platform: str) -> str:
    """The name build_pyz.sh --platform gives this machine: sysconfig says ``macosx-12.0-arm64`` or
    ``win-amd64`` where the archive says ``macos-arm64`` or ``windows-amd64``; Linux names are the same."""
    if sysconfig_platform.startswith("macosx-"):
        return "macos-" + sysconfig_platform.rsplit("-", 1)[1]
    if sysconfig_platform.startswith("win-"):
        return "windows-" + sysconfig_platform.split("-", 1)[1]
    return sysconfig_platform


def interpreter_problem(
    target: BuildTarget | None, python: str | None = None, machine_platform: str | None = None
) -> str | None:
    """Why this interpreter cannot load the archive's compiled wheels, in one line, or None."""
    if target is None:
        return None
    running = python or "{}.{}".format(*sys.version_info[:2])
    here = build_platform(machine_platform or sysconfig.get_platform())
    if running == target.python and here == target.platform:
        return None
    return (
        f"this .pyz was built for CPython {target.python} on {target.platform} but runs on CPython "
        f"{running} on {here}: start it with python{target.python} on {target.platform}, or build one "
        "for this machine with build_pyz.sh"
    )


def unpacked_dir(module_file: str = __file__) -> Path | None:
    """``<root>/<archive name>_<build id>`` when this code runs from a copy shiv unpacked, else None."""
    site_packages = Path(module_file).resolve().parent.parent
    return site_packages.parent if site_packages.name == SITE_PACKAGES else None


def damaged_files(archive: str | os.PathLike[str], unpacked: Path) -> list[str]:
    """Archive members that are missing from the unpacked copy or have another size there."""
    damaged = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(SITE_PACKAGES + "/") or info.is_dir():
                continue
            try:
                size = (unpacked / info.filename).stat().st_size
            except FileNotFoundError:
                size = -1
            if size != info.file_size:
                damaged.append(info.filename)
    return damaged


def unpacked_copy_problem(archive: str | os.PathLike[str], unpacked: Path) -> str | None:
    # shiv unpacks only when the directory is missing, so a cleaner that deleted files but kept directories
    # (systemd-tmpfiles on /tmp, say) leaves a copy that imports half-way; neonize would then try to download
    # its missing library at import (docs/packaging.md pitfall 5). Refuse to start instead.
    damaged = damaged_files(archive, unpacked)
    if not damaged:
        return None
    return (
        f"the unpacked copy of this .pyz in {unpacked} is damaged ({len(damaged)} files missing or "
        f"changed, e.g. {damaged[0]}): start it once with SHIV_FORCE_EXTRACT=1 to unpack it again, and "
        "keep SHIV_ROOT out of directories that a cleaner empties, such as /tmp"
    )


def _mapped_dirs(root: Path) -> set[str] | None:
    """Names of the entries of ``root`` that some process has files of mapped (its loaded .so files),
    or None where there is no /proc to tell."""
    if not (PROC / "self" / "maps").exists():
        return None
    prefix = f"{root}{os.sep}"
    used: set[str] = set()
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            maps = (pid_dir / "maps").read_text(errors="replace")
        except OSError:
            # Gone already, or another user's process: such a process cannot use our SHIV_ROOT's copies
            # without being able to write there too, which a shared root would need for its first start.
            continue
        for line in maps.splitlines():
            start = line.find(prefix)
            if start != -1:
                used.add(line[start + len(prefix) :].split(os.sep, 1)[0])
    return used


@contextlib.contextmanager
def _extraction_lock(lock_path: Path) -> Iterator[bool]:
    """shiv's own extraction lock, without waiting: False while a process is unpacking that build."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _is_stale_copy(entry: Path, archive_name: str) -> bool:
    name = entry.name
    if name.endswith(DELETING_SUFFIX):
        return name.startswith(".")
    if name.startswith("."):
        return False
    if (entry / SITE_PACKAGES / "wa_gateway").is_dir():
        return True
    # A partial unpacking of one of our builds may not have reached our package yet (zip order).
    return name.endswith(PARTIAL_SUFFIX) and name.startswith(f"{archive_name}_")


def remove_stale_copies(current: Path) -> list[Path]:
    """Deletes the other unpacked wa-gateway builds beside ``current`` that no process has loaded.

    shiv never deletes old copies, so every upgrade leaves ~80 MB behind (docs/packaging.md pitfall 5).
    A copy is kept while any process maps a file from it (another gateway still running an older build),
    or while shiv holds its extraction lock. Returns what was removed.
    """
    root = current.parent
    used = _mapped_dirs(root)
    if used is None:
        return []
    archive_name = current.name.rsplit("_", 1)[0]
    removed = []
    for entry in sorted(root.iterdir()):
        if entry == current or entry.is_symlink() or not entry.is_dir():
            continue
        if not _is_stale_copy(entry, archive_name) or entry.name in used:
            continue
        base = entry.name.removeprefix(".").removesuffix(DELETING_SUFFIX).removesuffix(PARTIAL_SUFFIX)
        lock_path = root / f".{base}_lock"
        with _extraction_lock(lock_path) as locked:
            if not locked:
                continue
            # Renamed first so that a half-deleted tree never looks like a usable copy to shiv, which only
            # checks that the directory exists.
            doomed = (
                entry if entry.name.endswith(DELETING_SUFFIX) else root / f".{entry.name}{DELETING_SUFFIX}"
            )
            try:
                if doomed != entry:
                    entry.rename(doomed)
                shutil.rmtree(doomed)
                if not (root / base).exists() and not (root / f"{base}{PARTIAL_SUFFIX}").exists():
                    lock_path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning(
                    "cannot remove an old unpacked build", extra={"path": str(entry), "error": str(exc)}
                )
                continue
        removed.append(entry)
    return removed


def remove_stale_copies_in_background(current: Path) -> threading.Thread:
    def run() -> None:
        try:
            for path in remove_stale_copies(current):
                log.info("removed an old unpacked build", extra={"path": str(path)})
        except OSError as exc:
            log.warning(
                "cannot clean old unpacked builds", extra={"root": str(current.parent), "error": str(exc)}
            )

    # A daemon: the gateway's exit never waits for it, and a removal cut short is finished next start.
    thread = threading.Thread(target=run, name="pyz-cleanup", daemon=True)
    thread.start()
    return thread
