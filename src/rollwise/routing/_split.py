"""The split a proxy should serve for a flag, read off the SDK document.

A proxy cannot evaluate targeting rules against a request's attributes the way the SDK
does, so routers serve the fallthrough split (or the default variant as a 100% split). A
killed flag (``enabled: false``) serves its off variant to everyone: the kill switch wins at
the proxy as it does in the SDK.
"""

from __future__ import annotations

from ..core.flags import BUCKETS, ConfigDocument, Flag
from .base import RouteSplit, RoutingError

__all__ = ["route_split"]


def route_split(document: ConfigDocument, flag_key: str, environment: str) -> RouteSplit:
    """The flag's split in ``environment``; RoutingError when the flag cannot be routed."""
    flag = next((flag for flag in document.flags if flag.key == flag_key), None)
    if flag is None:
        raise RoutingError(
            f"flag {flag_key!r} is not in the document for environment {environment!r}",
            flag=flag_key,
            environment=environment,
        )
    state = flag.environments.get(environment)
    weights = _weights(flag, environment)
    salt = (state.salt if state is not None else None) or flag.key
    return RouteSplit(
        flag=flag.key,
        environment=environment,
        revision=_revision_number(document.revision),
        weights=tuple((variant, weights.get(variant, 0)) for variant in flag.variants),
        salt=salt,
    )


def _weights(flag: Flag, environment: str) -> dict[str, int]:
    state = flag.environments.get(environment)
    off = flag.off_variant or flag.variants[0]
    if state is None or not state.enabled:
        return {off: BUCKETS}
    if state.split:
        return dict(state.split)
    return {state.default or off: BUCKETS}


def _revision_number(revision: str | None) -> int | None:
    """``"production:42"`` → 42 (the SDK document's revision is ``environment:number``)."""
    if not revision:
        return None
    number = revision.rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else None
