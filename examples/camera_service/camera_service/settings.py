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

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import SettingsConfigDict

from rollwise.env_settings import EnvSettings, Number, Switch, Text, read_env, whole_number
from rollwise.errors import ConfigError
from rollwise.sdk.override_tokens import OverrideSigner

from .errors import SettingsError
from .faults import FaultSpec
from .processes import WorkerSettings

__all__ = ["Settings", "default_config_dir"]


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
        if self.override_keys:
            try:
                OverrideSigner(list(self.override_keys))
            except ConfigError as error:
                raise SettingsError("ROLLWISE_OVERRIDE_KEYS", error.reason) from None
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
        """The settings the variables describe (rollwise's settings models read them)."""
        try:
            rollwise = read_env(_RollwiseEnv, environ)
            camera = read_env(_CameraEnv, environ)
            rollout = read_env(_RolloutEnv, environ)
        except ConfigError as error:
            raise SettingsError(error.path, error.reason) from None
        keys = rollwise.override_keys
        return cls(
            config_dir=camera.config_dir or default_config_dir(),
            state_dir=camera.state_dir or _default_state_dir(),
            worker=WorkerSettings(
                fps=camera.fps,
                heartbeat_interval=camera.heartbeat_seconds,
                stop_timeout=camera.stop_timeout,
            ),
            autostart_on_boot=camera.autostart,
            fault=FaultSpec.parse(camera.fault),
            compare_sample=camera.compare_sample,
            flags_file=rollwise.flags_file,
            control_plane_url=rollwise.url,
            sdk_token=rollwise.sdk_token,
            environment=rollwise.environment,
            report_window=rollwise.report_window,
            override_keys=tuple(k.strip() for k in keys.split(",") if k.strip()) if keys else (),
            use_domain_service=rollout.use_domain_service,
            rollout_percent=rollout.rollout_percent,
        )


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be a positive number, got {value:g}")
    return value


Positive = Annotated[Number, AfterValidator(_positive)]
ReportWindow = Annotated[int, BeforeValidator(whole_number(1, 3600))]


class _RollwiseEnv(EnvSettings):
    """The ``ROLLWISE_*`` variables of the SDK inside the service."""

    flags_file: Path | None = None
    url: Text | None = None
    sdk_token: Text | None = None
    environment: Text = "production"
    report_window: ReportWindow = 10
    override_keys: Text | None = None


class _CameraEnv(EnvSettings):
    """``CAMERA_SERVICE_*``: the service's own settings."""

    model_config = SettingsConfigDict(env_prefix="CAMERA_SERVICE_")

    config_dir: Path | None = None
    state_dir: Path | None = None
    fps: Positive = 10.0
    heartbeat_seconds: Positive = 1.0
    stop_timeout: Positive = 5.0
    autostart: Switch = True
    fault: Text | None = None
    compare_sample: Annotated[Number, Field(ge=0.0, le=1.0)] = 1.0


class _RolloutEnv(EnvSettings):
    """The legacy switches, unprefixed (``USE_DOMAIN_SERVICE``, ``ROLLOUT_PERCENT``)."""

    model_config = SettingsConfigDict(env_prefix="")

    use_domain_service: Switch | None = None
    rollout_percent: Number | None = None
