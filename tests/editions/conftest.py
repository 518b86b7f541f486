"""Fixtures of the downloads and registry tests: an isolated downloads storage and a registry signing key
made once per session (generating RSA keys is slow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from editions import registry


@pytest.fixture(autouse=True)
def downloads_media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DOWNLOADS_SERVE_MODE = ""
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def registry_key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry-key") / "registry-token-key.pem"
    registry.generate_key_file(path)
    return path


@pytest.fixture(autouse=True)
def registry_settings(settings: Any, registry_key_path: Path) -> Any:
    settings.REGISTRY_TOKEN_KEY_FILE = str(registry_key_path)
    settings.REGISTRY_SERVICE = "registry.test"
    settings.REGISTRY_ISSUER = "backoffice-test"
    settings.REGISTRY_HOST = "registry.test"
    settings.REGISTRY_PUSH_USERS = []
    return settings
