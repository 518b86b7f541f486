"""The compose file is accepted by Compose (the `docker compose` plugin, or Debian's docker-compose)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_is_accepted():
    command = _compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("neither `docker compose` nor docker-compose is installed (make test installs it)")
        pytest.skip("no Compose client installed")
    env = {**os.environ, "SECRET_KEY": "check-only", "LICENSE_KEY_ENCRYPTION_KEY": "check-only"}

    def compose(*args: str) -> str:
        result = subprocess.run(
            [*command, "-f", str(COMPOSE), *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert set(compose("config", "--services").split()) == {"web", "worker", "beat", "db", "redis"}
    rendered = compose("config")
    assert "gunicorn portal.wsgi:application" in rendered
    assert "redis://redis:6379/0" in rendered


def test_compose_demands_the_secrets():
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose client installed")
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "LICENSE_KEY_ENCRYPTION_KEY"}}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout
