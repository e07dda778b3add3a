"""The gate: per request, whether a forced variant is honoured (and every decision counted)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...errors import ConfigError
from ._counter import OverrideCounter
from ._decision import OverrideDecision, Rejection
from ._format import TokenCheck
from ._policy import ForceParameter, OverridePolicy
from ._signer import OverrideSigner

__all__ = ["OverrideGate"]


@dataclass(slots=True)
class OverrideGate:
    """Decides, per request, whether a forced variant is honoured; counts every decision.

    Built once per application (by the integration) with the client's environment and
    whether its configuration marks it ``production`` (a bool, or a function asked again
    whenever an unsigned override would be honoured: the integrations pass the client's
    current answer). Raises :class:`ConfigError` at construction when the policy cannot be
    safe there: unsigned overrides in a production environment, or signed overrides without
    a signer. Tokens are verified for ``environment``.
    """

    policy: OverridePolicy
    environment: str
    signer: OverrideSigner | None = None
    counter: OverrideCounter = field(default_factory=OverrideCounter)
    production: bool | Callable[[], bool] = False
    _by_name: dict[str, ForceParameter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        policy = self.policy
        if policy.allow_unsigned and self.in_production():
            raise ConfigError.single(
                None,
                "overrides.allow_unsigned",
                f"unsigned per-request overrides are not allowed in {self.environment!r} "
                "(a production environment)",
            )
        if policy.enabled and not policy.allow_unsigned and self.signer is None:
            raise ConfigError.single(
                None, "overrides.keys", "signed per-request overrides need signing keys"
            )
        self._by_name = {parameter.name: parameter for parameter in policy.parameters}

    @property
    def parameters(self) -> tuple[ForceParameter, ...]:
        """The parameters that can force a variant (none while the policy is disabled)."""
        return self.policy.parameters if self.policy.enabled else ()

    def in_production(self) -> bool:
        """Marked production by the configuration, or named so (the safety net)."""
        marked = self.production() if callable(self.production) else self.production
        return bool(marked) or self.policy.is_production(self.environment)

    def decide(
        self,
        parameter: str,
        value: str,
        token: str | None = None,
        subject: str | None = None,
    ) -> OverrideDecision:
        """Whether ``parameter=value`` (with ``token``, from ``subject``) forces a variant."""
        bound = self._by_name.get(parameter)
        flag = bound.flag if bound is not None else None
        if not self.policy.enabled:
            return self._count(OverrideDecision(flag, rejection=Rejection.DISABLED))
        if bound is None:
            return self._count(OverrideDecision(None, rejection=Rejection.UNKNOWN_PARAMETER))
        variant = bound.variant_for(value)
        if variant is None:
            return self._count(OverrideDecision(flag, rejection=Rejection.UNKNOWN_VALUE))
        if self.policy.allow_unsigned and not self.in_production():
            return self._count(OverrideDecision(flag, variant))
        if not token or self.signer is None:  # no signer: unsigned only, or disabled
            return self._count(OverrideDecision(flag, rejection=Rejection.MISSING_TOKEN))
        check = self.signer.verify(
            token, bound.flag, variant, subject, environment=self.environment
        )
        return self._count(self._from_check(bound.flag, check))

    def decide_token(self, token: str, subject: str | None = None) -> OverrideDecision:
        """A token on its own (no parameter): it forces the flag and variant it names.

        Only for flags some parameter is bound to, and only variants that parameter can
        force; the token is required even when unsigned overrides are allowed.
        """
        if not self.policy.enabled:
            return self._count(OverrideDecision(None, rejection=Rejection.DISABLED))
        if self.signer is None:
            return self._count(OverrideDecision(None, rejection=Rejection.MISSING_TOKEN))
        check = self.signer.inspect(token)
        if not check.ok or check.flag is None:
            return self._count(self._from_check(check.flag, check))
        allowed = {
            variant
            for parameter in self.policy.parameters
            if parameter.flag == check.flag
            for variant in parameter.values.values()
        }
        if check.variant not in allowed:
            return self._count(OverrideDecision(check.flag, rejection=Rejection.NOT_OVERRIDABLE))
        check = self.signer.verify(
            token, check.flag, check.variant, subject, environment=self.environment
        )
        return self._count(self._from_check(check.flag, check))

    def _from_check(self, flag: str | None, check: TokenCheck) -> OverrideDecision:
        if check.ok:
            return OverrideDecision(flag, check.variant, signed=True)
        return OverrideDecision(flag, rejection=Rejection(check.status.value))

    def _count(self, decision: OverrideDecision) -> OverrideDecision:
        self.counter.add(decision)
        return decision
