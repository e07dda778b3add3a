"""The document an environment's SDKs receive: every live flag, with that environment only."""

from __future__ import annotations

from sqlalchemy import select

from ..core.model import ConfigDocument, Flag, FlagEnvironment
from .environments import EnvironmentOperations
from .tables import flag_states, flags

__all__ = ["ConfigOperations"]


class ConfigOperations(EnvironmentOperations):
    def config_document(self, environment: str) -> ConfigDocument:
        revision = self.config_revision(environment)
        states = {
            row.flag: FlagEnvironment.model_validate(row.state)
            for row in self._conn.execute(
                select(flag_states).where(flag_states.c.environment == environment)
            )
        }
        documents = []
        for row in self._conn.execute(
            select(flags).where(flags.c.archived.is_(False)).order_by(flags.c.key)
        ):
            state = states.get(row.key)
            documents.append(
                Flag(
                    key=row.key,
                    description=row.description,
                    variants=list(row.variants),
                    off_variant=row.off_variant,
                    environments={environment: state} if state is not None else {},
                )
            )
        return ConfigDocument(
            revision=f"{environment}:{revision}", environment=environment, flags=documents
        )
