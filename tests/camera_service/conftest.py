"""Fixtures: a fresh copy of the example's configuration and settings with fast workers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from camera_service.settings import Settings, default_config_dir

from ._support import VARIANTS, Api, make_settings, serve


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The example's ``config/`` copied into the test's directory (the API rewrites it)."""
    target = tmp_path / "config"
    shutil.copytree(default_config_dir(), target)
    return target


@pytest.fixture
def settings_for(tmp_path: Path, config_dir: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        return make_settings(tmp_path, config_dir, **overrides)

    return build


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def api(variant: str, settings_for: Callable[..., Settings]) -> Iterator[Api]:
    """The app with every request served by ``variant`` (USE_DOMAIN_SERVICE)."""
    with serve(settings_for(), variant) as client:
        yield client
