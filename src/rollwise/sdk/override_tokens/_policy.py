"""Which request parameters may force which variants, and where unsigned ones are refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ForceParameter", "OverridePolicy"]

_TRUE_VALUES = ("true", "1", "yes", "on")
_FALSE_VALUES = ("false", "0", "no", "off")


@dataclass(frozen=True, slots=True)
class ForceParameter:
    """A request parameter that forces one flag: its values map to the flag's variants.

    ``name`` is the query parameter; ``header`` the equivalent header (default ``X-`` + the
    name with dashes: ``force_domain`` → ``X-Force-Domain``). Values are matched
    case-insensitively after trimming spaces.
    """

    name: str
    flag: str
    values: Mapping[str, str]
    header: str = ""

    def __post_init__(self) -> None:
        lowered = {key.strip().lower(): variant for key, variant in self.values.items()}
        object.__setattr__(self, "values", MappingProxyType(lowered))
        if not self.header:
            default = "X-" + "-".join(part.capitalize() for part in self.name.split("_"))
            object.__setattr__(self, "header", default)

    @classmethod
    def boolean(
        cls, name: str, flag: str, *, on: str, off: str, header: str = ""
    ) -> ForceParameter:
        """``true/1/yes/on`` → ``on`` and ``false/0/no/off`` → ``off``."""
        values = dict.fromkeys(_TRUE_VALUES, on) | dict.fromkeys(_FALSE_VALUES, off)
        return cls(name, flag, values, header)

    def variant_for(self, value: str) -> str | None:
        return self.values.get(value.strip().lower())


@dataclass(frozen=True, slots=True)
class OverridePolicy:
    """Whether and how requests may force variants (off unless ``enabled``).

    ``allow_unsigned`` lets a bare parameter through without a token: for development and
    staging only, refused in any environment the configuration marks ``production``, and
    in ``production_environments`` (a safety net by name for unmarked configurations).
    """

    enabled: bool = False
    allow_unsigned: bool = False
    parameters: tuple[ForceParameter, ...] = ()
    token_parameter: str = "rollwise_token"
    token_header: str = "X-Rollwise-Override-Token"
    production_environments: frozenset[str] = frozenset({"production", "prod"})
    """Names always treated as production, marked or not; also matched ignoring case and with
    a suffix after ``-``, ``_`` or ``.`` (``Production``, ``prod-eu``, ``production.us``).
    Any other environment is production only when its configuration marks it so."""

    def is_production(self, environment: str) -> bool:
        name = environment.lower()
        for production in self.production_environments:
            base = production.lower()
            if name == base or (name.startswith(base) and name[len(base)] in "-_."):
                return True
        return False
