"""The rollout spec's command-line options, declared once for ``create`` and ``start``.

Typer reads a command's options off its signature. :func:`with_spec_options` puts the fields
of :class:`SpecOptions` into the signature in place of a ``spec`` parameter and hands the
command one :class:`SpecOptions`, so the two commands share one list of options.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any, get_type_hints

import typer

from ._input import build_spec

__all__ = ["SpecOptions", "with_spec_options"]

_GATE_HELP = "metric:bound=value,... e.g. error_rate:max_difference=0.005 (repeat)"


@dataclass(frozen=True)
class SpecOptions:
    """What the command line says of the spec; :meth:`build` merges it over ``--file``."""

    file: Annotated[
        str | None, typer.Option("--file", "-f", help="Rollout spec, YAML or JSON ('-': stdin)")
    ] = None
    flag: Annotated[str | None, typer.Option("--flag", help="The flag")] = None
    env: Annotated[str | None, typer.Option("--env", "--environment", help="The environment")] = (
        None
    )
    variant: Annotated[
        str | None, typer.Option("--variant", help="The variant to roll out (the canary)")
    ] = None
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="The variant it replaces (default: the flag's off variant)"
        ),
    ] = None
    strategy: Annotated[str | None, typer.Option("--strategy", help="canary or blue_green")] = None
    steps: Annotated[
        str | None, typer.Option("--steps", help="Canary steps, e.g. 10%/1h,25%/1h,50%/1h")
    ] = None
    verify: Annotated[
        str | None, typer.Option("--verify", help="blue_green verification window, e.g. 30m")
    ] = None
    gate: Annotated[list[str] | None, typer.Option("--gate", help=_GATE_HELP)] = None
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="Requests per variant before a pass")
    ] = None
    max_step_duration: Annotated[
        str | None,
        typer.Option("--max-step-duration", help="Pause a step without verdict after"),
    ] = None
    on_no_data: Annotated[
        str | None, typer.Option("--on-no-data", help="hold, pause or rollback")
    ] = None

    def build(self) -> dict[str, Any]:
        """The checked spec (a :class:`~rollwise.errors.ConfigError` names a bad field)."""
        options = asdict(self)
        return build_spec(
            options.pop("file"),
            environment=options.pop("env"),
            gates=options.pop("gate"),
            **options,
        )


def with_spec_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the :class:`SpecOptions` fields as options where its ``spec`` was."""
    own = inspect.signature(command, eval_str=True)
    hints = get_type_hints(SpecOptions, include_extras=True)
    names = [field.name for field in fields(SpecOptions)]
    spec_parameters = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hints[name]
        )
        for name in names
    ]
    parameters: list[inspect.Parameter] = []
    for parameter in own.parameters.values():
        if parameter.name == "spec":
            parameters.extend(spec_parameters)
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def wrapper(**options: Any) -> None:
        spec = SpecOptions(**{name: options.pop(name) for name in names})
        command(spec=spec, **options)

    wrapper.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
