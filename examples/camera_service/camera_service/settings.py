"""Settings, read once from the environment (or built directly in tests).

- ``CAMERA_SERVICE_CONFIG_DIR``: ``cameras.yaml`` and ``alert_rules.yaml`` (the API rewrites
  them); default the example's own ``config/``.
- ``CAMERA_SERVICE_STATE_DIR``: worker state files and logs; default
  ``$TMPDIR/camera-service-<uid>``.
- ``CAMERA_SERVICE_FPS`` (10): frames per second each worker renders.
- ``CAMERA_SERVICE_HEARTBEAT_SECONDS`` (1): how often workers write their state file.
- ``CAMERA_SERVICE_STOP_TIMEOUT`` (5): seconds between SIGTERM and SIGKILL.
- ``CAMERA_SERVICE_AUTOSTART`` (true): reconcile (start auto-start cameras) at start-up.
- ``CAMERA_SERVICE_FAULT`` (none): fault injection, see :mod:`camera_service.faults`.
- ``CAMERA_SERVICE_COMPARE_SAMPLE`` (1): share of alert-rule reads run on both
  implementations and compared.
- ``ROLLWISE_FLAGS_FILE``: a rollwise flag file deciding ``camera-domain-service``; or
  ``ROLLWISE_URL`` and ``ROLLWISE_SDK_TOKEN``: a rollwise control plane and an sdk token
  (the flag comes from it, and the service reports its traffic to it).
- ``ROLLWISE_ENVIRONMENT`` (production): the environment flags are evaluated in.
- ``ROLLWISE_REPORT_WINDOW`` (10): seconds per request window the app reports to the
  control plane (whole seconds, 1 to 3600; the demo shortens it).
- ``ROLLWISE_OVERRIDE_KEYS``: comma-separated signing keys; enables signed ``force_domain``.
- ``USE_DOMAIN_SERVICE``: ``false`` puts everyone on legacy, ``true`` everyone on domain.
- ``ROLLOUT_PERCENT``: ``N`` puts N% of clients (sticky) on domain when no flag source
  decides.

Invalid values raise :class:`~camera_service.errors.SettingsError` naming the variable.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingsError
from .faults import FaultSpec
from .processes import WorkerSettings

__all__ = ["Settings", "default_config_dir"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def default_config_dir() -> Path:
    """The example's own ``config/`` next to the package (a checkout or editable install)."""
    shipped = Path(__file__).resolve().parent.parent / "config"
    return shipped if shipped.is_dir() else Path.cwd() / "config"


def _default_state_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"camera-service-{os.getuid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    config_dir: Path = field(default_factory=default_config_dir)
    state_dir: Path = field(default_factory=_default_state_dir)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    autostart_on_boot: bool = True
    fault: FaultSpec = field(default_factory=FaultSpec)
    compare_sample: float = 1.0
    flags_file: Path | None = None
    control_plane_url: str | None = None
    sdk_token: str | None = None
    environment: str = "production"
    report_window: int = 10
    override_keys: tuple[str, ...] = ()
    use_domain_service: bool | None = None
    rollout_percent: float | None = None

    def __post_init__(self) -> None:
        if self.flags_file is not None and self.control_plane_url is not None:
            raise SettingsError(
                "ROLLWISE_FLAGS_FILE", "set either a flag file or ROLLWISE_URL, not both"
            )
        if self.control_plane_url is not None and not self.sdk_token:
            raise SettingsError("ROLLWISE_SDK_TOKEN", "ROLLWISE_URL needs an sdk token")
        if self.rollout_percent is not None and not 0.0 <= self.rollout_percent <= 100.0:
            raise SettingsError(
                "ROLLOUT_PERCENT", f"must be between 0 and 100, got {self.rollout_percent}"
            )
        if (
            isinstance(self.report_window, bool)
            or not isinstance(self.report_window, int)
            or not 1 <= self.report_window <= 3600
        ):
            raise SettingsError(
                "ROLLWISE_REPORT_WINDOW",
                f"must be a whole number of seconds from 1 to 3600, got {self.report_window!r}",
            )
        if not 0.0 <= self.compare_sample <= 1.0:
            raise SettingsError(
                "CAMERA_SERVICE_COMPARE_SAMPLE",
                f"must be between 0 and 1, got {self.compare_sample}",
            )

    @property
    def cameras_file(self) -> Path:
        return self.config_dir / "cameras.yaml"

    @property
    def alert_rules_file(self) -> Path:
        return self.config_dir / "alert_rules.yaml"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, default: float, *, positive: bool = True) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(name, f"{raw!r} is not a number") from None
            if not math.isfinite(value) or (positive and not value > 0):
                raise SettingsError(name, f"must be a positive number, got {raw}")
            return value

        def flag(name: str) -> bool | None:
            raw = text(name)
            if raw is None:
                return None
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise SettingsError(name, f"{raw!r} is not true or false")

        config_dir = text("CAMERA_SERVICE_CONFIG_DIR")
        state_dir = text("CAMERA_SERVICE_STATE_DIR")
        flags_file = text("ROLLWISE_FLAGS_FILE")
        percent = text("ROLLOUT_PERCENT")
        keys = text("ROLLWISE_OVERRIDE_KEYS")
        window = text("ROLLWISE_REPORT_WINDOW")
        if window is not None and not window.isdigit():
            raise SettingsError(
                "ROLLWISE_REPORT_WINDOW", f"{window!r} is not a whole number of seconds"
            )
        autostart = flag("CAMERA_SERVICE_AUTOSTART")
        return cls(
            config_dir=Path(config_dir) if config_dir else default_config_dir(),
            state_dir=Path(state_dir) if state_dir else _default_state_dir(),
            worker=WorkerSettings(
                fps=number("CAMERA_SERVICE_FPS", 10.0),
                heartbeat_interval=number("CAMERA_SERVICE_HEARTBEAT_SECONDS", 1.0),
                stop_timeout=number("CAMERA_SERVICE_STOP_TIMEOUT", 5.0),
            ),
            autostart_on_boot=True if autostart is None else autostart,
            fault=FaultSpec.parse(text("CAMERA_SERVICE_FAULT")),
            compare_sample=number("CAMERA_SERVICE_COMPARE_SAMPLE", 1.0, positive=False),
            flags_file=Path(flags_file) if flags_file else None,
            control_plane_url=text("ROLLWISE_URL"),
            sdk_token=text("ROLLWISE_SDK_TOKEN"),
            environment=text("ROLLWISE_ENVIRONMENT") or "production",
            report_window=int(window) if window is not None else 10,
            override_keys=tuple(k.strip() for k in keys.split(",") if k.strip()) if keys else (),
            use_domain_service=flag("USE_DOMAIN_SERVICE"),
            rollout_percent=number("ROLLOUT_PERCENT", 0.0, positive=False) if percent else None,
        )
