"""First run: the help text, what `make run` installs, the README's command-line block."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .processes import ROOT
from .test_cli import run_cli


def test_help_lists_only_user_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "SUPPRESS" not in result.stdout and "engine-worker" not in result.stdout
    for command in ("run", "init", "check-config", "healthcheck"):
        assert command in result.stdout


def make_dry_run(target: str, tmp_path: Path) -> str:
    """What ``make <target>`` would run on a machine with no venv yet (nothing is executed)."""
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_installs_only_the_runtime(tmp_path: Path) -> None:
    run = make_dry_run("run", tmp_path)
    assert re.search(r"pip install .*-e \.?(\s|$)", run) or "install --quiet -e ." in run, run
    assert "[dev]" not in run
    assert "[dev]" in make_dry_run("test", tmp_path)


def test_readme_command_line_uses_the_venv_and_names_init_path() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("The command line", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines and all(line.startswith(".venv/bin/python gateway.py") for line in lines), lines
    assert "init --path" in block
    assert "WA_ENGINE=sandbox make run" in readme


def test_systemd_unit_prints_the_shipped_unit(tmp_path: Path) -> None:
    result = run_cli("systemd-unit", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == (ROOT / "deploy" / "wa-gateway.service").read_text()
    assert "ExecStart=" in result.stdout


def test_docker_image_has_ffmpeg_and_make_has_pyz(tmp_path: Path) -> None:
    install = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if "apt-get install" in line
    )
    assert "ffmpeg" in install.split()
    assert "./build_pyz.sh" in make_dry_run("pyz", tmp_path)


def test_pyz_platform_names_match_the_running_machine() -> None:
    from wa_gateway.pyz_runtime import BuildTarget, build_platform, interpreter_problem

    assert build_platform("linux-aarch64") == "linux-aarch64"
    assert build_platform("macosx-12.0-arm64") == "macos-arm64"
    assert build_platform("macosx-10.9-x86_64") == "macos-x86_64"
    assert build_platform("win-amd64") == "windows-amd64"
    assert interpreter_problem(BuildTarget("3.11", "macos-arm64"), "3.11", "macosx-14.0-arm64") is None
    assert interpreter_problem(BuildTarget("3.11", "macos-arm64"), "3.11", "macosx-14.0-x86_64") is not None


def test_build_script_refuses_an_unknown_platform(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "build_pyz.sh"), "--platform", "linux-riscv64", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "--platform must be" in result.stderr
