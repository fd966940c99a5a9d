"""The text of ``.env`` / ``.env.example``, generated from the one table of variables."""

from __future__ import annotations

import secrets

from wa_gateway.config import VARIABLES


def new_api_key() -> str:
    return secrets.token_hex(32)


def env_file_text(api_key: str = "") -> str:
    lines = [
        "# wa-gateway configuration. The real environment wins over this file.",
        "# Every variable is listed with its default; delete a line to use the default.",
        "",
    ]
    for var in VARIABLES:
        lines.append(f"# {var.help}")
        value = api_key if var.name == "API_KEY" else var.default
        lines.append(f"{var.name}={value}")
        lines.append("")
    return "\n".join(lines)
