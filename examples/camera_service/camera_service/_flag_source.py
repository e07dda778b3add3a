"""A config source that always knows ``camera-domain-service``: the operator's fallback.

The app's flag client reads the flag file or the control plane. When that document does not
define the flag (the control plane has not been told about it yet, or is unreachable at
start-up without a cache), the client must still answer ``legacy`` or ``domain``, never
rollwise's "unknown flag" default, because the middleware records whatever it answers. So
this wrapper adds a fallback definition of the flag to every document that lacks it: the
``ROLLOUT_PERCENT`` split if the operator set one, otherwise everyone on ``legacy``. As soon
as the real source defines the flag, its definition wins (nothing is merged into it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollwise.core.flags import ConfigDocument, Flag
from rollwise.errors import RollwiseError, SourceError
from rollwise.sdk.sources import ConfigListener, ConfigSource

__all__ = ["WithFallbackFlag"]


class WithFallbackFlag:
    """Wraps ``inner`` (or stands alone when ``inner`` is None) and adds ``fallback``."""

    def __init__(self, inner: ConfigSource | None, fallback: Mapping[str, Any]) -> None:
        self._inner = inner
        self._fallback = dict(fallback)
        self._key = str(fallback["key"])
        self._initial_error: SourceError | None = None

    def initial(self) -> tuple[Any, str]:
        """The inner source's first document with the flag, else the fallback alone.

        An inner source that cannot deliver now does not leave the client without the flag:
        the fallback serves until the inner source delivers; the error is reported to the
        listener when the source starts.
        """
        first: tuple[Any, str] | None = None
        if self._inner is not None:
            try:
                first = self._inner.initial()
            except RollwiseError as error:
                self._initial_error = (
                    error if isinstance(error, SourceError) else SourceError(str(error))
                )
        if first is None:
            return {"flags": [self._fallback]}, "fallback"
        data, origin = first
        return self.with_flag(data), origin

    def startup_problem(self) -> SourceError | None:
        """Why the first document is not the inner source's own (it failed, or served its
        disk cache), handed over once: the client reports it when it is built, so that
        ``health()`` says so (a refused sdk token above all) before anything starts."""
        error, self._initial_error = self._initial_error, None
        if error is None and self._inner is not None:
            inner_problem = getattr(self._inner, "startup_problem", None)
            error = inner_problem() if callable(inner_problem) else None
        return error

    def start(self, listener: ConfigListener) -> None:
        if self._inner is None:
            return
        error, self._initial_error = self._initial_error, None
        if error is not None:
            listener.source_failed(error)
        self._inner.start(_Listener(listener, self))

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def with_flag(self, data: Any) -> Any:
        """``data`` with the fallback flag added if it does not define the flag."""
        if isinstance(data, ConfigDocument):
            if any(flag.key == self._key for flag in data.flags):
                return data
            flags = [*data.flags, Flag.model_validate(self._fallback)]
            return data.model_copy(update={"flags": flags})
        if not isinstance(data, Mapping):
            return data  # not a document: the client rejects it and keeps what it has
        flags = data.get("flags", [])
        if not isinstance(flags, list):
            return data
        if any(isinstance(flag, Mapping) and flag.get("key") == self._key for flag in flags):
            return data
        return {**data, "flags": [*flags, self._fallback]}


class _Listener:
    """Passes the inner source's documents on, with the flag."""

    def __init__(self, listener: ConfigListener, source: WithFallbackFlag) -> None:
        self._listener = listener
        self._source = source

    def config_received(self, data: Any, origin: str) -> bool:
        return self._listener.config_received(self._source.with_flag(data), origin)

    def source_failed(self, error: SourceError) -> None:
        self._listener.source_failed(error)

    def source_recovered(self) -> None:
        recovered = getattr(self._listener, "source_recovered", None)
        if callable(recovered):
            recovered()
