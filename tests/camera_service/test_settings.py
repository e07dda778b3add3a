"""Settings from the environment: every variable, and errors that name it."""

from __future__ import annotations

from pathlib import Path

import pytest
from camera_service.errors import SettingsError
from camera_service.faults import FaultSpec
from camera_service.settings import Settings, default_config_dir

KEY_1 = "k1-" + "a" * 40
KEY_2 = "k2-" + "b" * 40


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.config_dir == default_config_dir()
    assert (settings.config_dir / "cameras.yaml").is_file()
    assert settings.use_domain_service is None
    assert settings.rollout_percent is None
    assert settings.flags_file is None
    assert settings.control_plane_url is None
    assert settings.autostart_on_boot
    assert settings.environment == "production"
    assert settings.report_window == 10
    assert settings.worker.fps == 10.0


def test_every_variable() -> None:
    settings = Settings.from_env(
        {
            "CAMERA_SERVICE_CONFIG_DIR": "/srv/cams",
            "CAMERA_SERVICE_STATE_DIR": "/run/cams",
            "CAMERA_SERVICE_FPS": "25",
            "CAMERA_SERVICE_HEARTBEAT_SECONDS": "0.5",
            "CAMERA_SERVICE_STOP_TIMEOUT": "2",
            "CAMERA_SERVICE_AUTOSTART": "no",
            "CAMERA_SERVICE_FAULT": "latency=2x",
            "CAMERA_SERVICE_COMPARE_SAMPLE": "0.1",
            "ROLLWISE_URL": "http://127.0.0.1:8000",
            "ROLLWISE_SDK_TOKEN": "sdk-secret",
            "ROLLWISE_ENVIRONMENT": "staging",
            "ROLLWISE_REPORT_WINDOW": "2",
            "ROLLWISE_OVERRIDE_KEYS": f"{KEY_1}, {KEY_2}",
            "USE_DOMAIN_SERVICE": "FALSE",
            "ROLLOUT_PERCENT": "12.5",
        }
    )
    assert settings.config_dir == Path("/srv/cams")
    assert settings.state_dir == Path("/run/cams")
    assert settings.cameras_file == Path("/srv/cams/cameras.yaml")
    assert (settings.worker.fps, settings.worker.heartbeat_interval) == (25.0, 0.5)
    assert settings.worker.stop_timeout == 2.0
    assert settings.autostart_on_boot is False
    assert settings.fault == FaultSpec(latency_factor=2.0)
    assert settings.compare_sample == 0.1
    assert settings.control_plane_url == "http://127.0.0.1:8000"
    assert settings.sdk_token == "sdk-secret"
    assert settings.environment == "staging"
    assert settings.report_window == 2
    assert settings.override_keys == (KEY_1, KEY_2)
    assert settings.use_domain_service is False
    assert settings.rollout_percent == 12.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USE_DOMAIN_SERVICE", "maybe"),
        ("ROLLOUT_PERCENT", "half"),
        ("ROLLOUT_PERCENT", "101"),
        ("CAMERA_SERVICE_FPS", "0"),
        ("CAMERA_SERVICE_FPS", "inf"),
        ("CAMERA_SERVICE_HEARTBEAT_SECONDS", "-1"),
        ("CAMERA_SERVICE_COMPARE_SAMPLE", "2"),
        ("CAMERA_SERVICE_AUTOSTART", "sometimes"),
        ("ROLLWISE_REPORT_WINDOW", "2.5"),
        ("ROLLWISE_REPORT_WINDOW", "0"),
        ("ROLLWISE_REPORT_WINDOW", "3601"),
        ("ROLLWISE_OVERRIDE_KEYS", "short"),
        ("ROLLWISE_OVERRIDE_KEYS", f"{KEY_1},short"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert caught.value.name == name
    assert caught.value.details == {"setting": name, "reason": caught.value.reason}


@pytest.mark.slow
def test_a_short_override_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The service's own entry point, as an operator starts it: no traceback."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLWISE_", "CAMERA_"))}
    env.update(ROLLWISE_OVERRIDE_KEYS="tooshort", CAMERA_SERVICE_STATE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "camera_service", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ROLLWISE_OVERRIDE_KEYS" in lines[0]
    assert "at least" in lines[0]
