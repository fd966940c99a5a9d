from __future__ import annotations

from pathlib import Path

import pytest

from wa_gateway.config import VARIABLES, ConfigError, load_settings, read_environment
from wa_gateway.envfile import env_file_text

BASE = {"API_KEY": "k" * 16}


def load(**env: str):
    return load_settings({**BASE, **env})


def test_defaults_match_the_seed() -> None:
    s = load()
    assert (s.port, s.host, s.log_level, s.cors_origins) == (4010, "0.0.0.0", "info", ("*",))
    assert (s.phone_country_code, s.phone_min_length, s.phone_max_length) == ("60", 11, 12)
    assert (s.data_dir, s.typing_delay_ms, s.auto_read_receipt) == (Path("./data"), 1000, False)
    assert (s.webhook_url, s.webhook_secret, s.webhook_timeout_ms) == ("", "", 5000)
    assert (s.rate_limit_devices, s.rate_limit_messages, s.rate_limit_validate) == (10, 30, 60)
    assert (s.cache_ttl_seconds, s.ws_allowed_origins, s.ws_auth_timeout) == (3600, ("*",), 5)
    assert (s.wa_engine, s.log_format, s.rate_limit_auth_failures) == ("neonize", "json", 20)


def test_custom_values_are_read_back() -> None:
    s = load(
        PORT="8080",
        HOST="127.0.0.1",
        LOG_LEVEL="DEBUG",
        CORS_ORIGINS="http://localhost:3000, https://*.example.com",
        PHONE_COUNTRY_CODE="65",
        PHONE_MIN_LENGTH="10",
        PHONE_MAX_LENGTH="10",
        AUTO_READ_RECEIPT="TRUE",
        WEBHOOK_URL="https://example.com/hook",
        RATE_LIMIT_DEVICES="0",
        WS_ALLOWED_ORIGINS="http://a.com, http://b.com ,http://c.com",
        TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1",
        WA_ENGINE="sandbox",
    )
    assert (s.port, s.host, s.log_level) == (8080, "127.0.0.1", "debug")
    assert s.cors_origins == ("http://localhost:3000", "https://*.example.com")
    assert (s.phone_country_code, s.phone_min_length, s.phone_max_length) == ("65", 10, 10)
    assert s.auto_read_receipt is True and s.rate_limit_devices == 0
    assert s.ws_allowed_origins == ("http://a.com", "http://b.com", "http://c.com")
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"API_KEY": ""}, "API_KEY is required"),
        ({"API_KEY": "   "}, "API_KEY is required"),
        ({"PORT": "abc"}, "PORT must be a whole number between 1 and 65535"),
        ({"PORT": "0"}, "PORT must be between 1 and 65535"),
        ({"PORT": "65536"}, "PORT must be between 1 and 65535"),
        ({"PORT": "80.5"}, "PORT must be a whole number"),
        ({"WS_AUTH_TIMEOUT": "0"}, "WS_AUTH_TIMEOUT must be between 1 and 60"),
        ({"WS_AUTH_TIMEOUT": "61"}, "WS_AUTH_TIMEOUT must be between 1 and 60"),
        ({"AUTO_READ_RECEIPT": "not-a-bool"}, "AUTO_READ_RECEIPT must be true or false"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL must be one of"),
        ({"CORS_ORIGINS": "localhost:3000"}, "CORS_ORIGINS must be * or a comma-separated list"),
        ({"CORS_ORIGINS": "http://a.com/path"}, "CORS_ORIGINS"),
        ({"WS_ALLOWED_ORIGINS": "ftp://a.com"}, "WS_ALLOWED_ORIGINS"),
        ({"WS_ALLOWED_ORIGINS": "https://*.a.com"}, "WS_ALLOWED_ORIGINS"),
        ({"PHONE_MIN_LENGTH": "13"}, "PHONE_MIN_LENGTH must not be greater than PHONE_MAX_LENGTH"),
        ({"PHONE_MIN_LENGTH": "3"}, "PHONE_MIN_LENGTH must be between 7 and 15"),
        ({"PHONE_COUNTRY_CODE": "6O"}, "PHONE_COUNTRY_CODE must be 1 to 4 ASCII digits"),
        ({"PHONE_COUNTRY_CODE": "٦٠"}, "PHONE_COUNTRY_CODE"),
        ({"TYPING_DELAY_MS": "-1"}, "TYPING_DELAY_MS must be between 0 and 60000"),
        ({"RATE_LIMIT_MESSAGES": "-5"}, "RATE_LIMIT_MESSAGES must be between 0"),
        ({"CACHE_TTL_SECONDS": "0"}, "CACHE_TTL_SECONDS must be between 1"),
        ({"WEBHOOK_URL": "example.com/hook"}, "WEBHOOK_URL must be an http:// or https:// URL"),
        ({"WEBHOOK_TIMEOUT_MS": "0"}, "WEBHOOK_TIMEOUT_MS must be between 100"),
        ({"WEBHOOK_SIGNATURE_FORMAT": "base64"}, "WEBHOOK_SIGNATURE_FORMAT must be one of sha256, hex"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES must be a comma-separated list"),
        ({"WA_ENGINE": "baileys"}, "WA_ENGINE must be one of neonize, sandbox"),
        ({"DEVICE_NAME": "wa-gateway-go"}, "DEVICE_NAME must look like 'Browser (OS)'"),
        ({"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES must be between 1024"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_empty_value_counts_as_unset() -> None:
    assert load(PORT="", LOG_LEVEL="").port == 4010


def test_wildcard_anywhere_in_a_list_allows_everything() -> None:
    assert load(WS_ALLOWED_ORIGINS="http://a.com,*").ws_allowed_origins == ("*",)
    assert load(WS_ALLOWED_ORIGINS="  ,  , ").ws_allowed_origins == ("*",)


def test_env_file_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_KEY=from-file\nPORT=5000\nHOST=10.1.1.1\n")
    merged = read_environment({"PORT": "6000", "HOST": ""}, env_file)
    s = load_settings(merged)
    assert (s.api_key, s.port, s.host) == ("from-file", 6000, "10.1.1.1")


def test_describe_masks_secrets() -> None:
    described = load(WEBHOOK_SECRET="whsec_abc").describe()
    assert described["API_KEY"] == "********"
    assert described["WEBHOOK_SECRET"] == "********"
    assert "k" * 16 not in "".join(described.values())
    assert set(described) == {v.name for v in VARIABLES}


def test_env_example_lists_every_variable_with_its_default() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    assert example == env_file_text()
    for var in VARIABLES:
        assert f"\n{var.name}=" in example


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for var in VARIABLES:
        assert f"| `{var.name}` |" in readme, var.name
