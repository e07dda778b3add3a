"""The one way rollwise reads ``ROLLWISE_*`` variables: pydantic-settings models.

Each component (server, controller, CLI, the camera example) declares a small
:class:`EnvSettings` model whose field ``foo_bar`` is the variable ``ROLLWISE_FOO_BAR``
(the prefix is the model's), typed with the value types below so that a bad value is one
line naming the variable and the reason (:class:`~rollwise.errors.ConfigError`) instead of
a traceback. :func:`dataclass_env_fields` derives the fields of a settings dataclass, so
that a field added to ``ServerSettings`` or ``ControllerSettings`` has its variable without
a second list to keep in step.

Reading and errors are in ``_reading``, the value types in ``_values``, the database URL in
``_database``, settings dataclasses in ``_dataclasses``. Needs the ``pydantic-settings``
package (the ``cli`` and ``server`` extras).
"""

from ._database import DEFAULT_DATABASE_URL, DatabaseEnv, DatabaseUrl, database_url_from_env
from ._dataclasses import EnvField, build_dataclass, dataclass_env_fields, env_model
from ._reading import EnvSettings, read_env, variable_of
from ._values import Interval, Number, Seconds, Switch, Text, WholeNumber, whole_number

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DatabaseEnv",
    "DatabaseUrl",
    "EnvField",
    "EnvSettings",
    "Interval",
    "Number",
    "Seconds",
    "Switch",
    "Text",
    "WholeNumber",
    "build_dataclass",
    "database_url_from_env",
    "dataclass_env_fields",
    "env_model",
    "read_env",
    "variable_of",
    "whole_number",
]
