"""The document an environment's SDKs receive: every live flag, with that environment only."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Integer, literal, select, union_all

from ..core.flags import ConfigDocument, EnvironmentInfo, Flag, FlagEnvironment
from ._base import Operations
from .tables import environments, flag_states, flags, tokens

__all__ = ["ConfigOperations"]


class ConfigOperations(Operations):
    def document(self, environment: str) -> ConfigDocument:
        """The environment's flags, and its own attributes under ``environments``."""
        row = self._conn.execute(
            select(environments.c.config_revision, environments.c.production).where(
                environments.c.key == environment
            )
        ).first()
        if row is None:
            raise self._not_found("environment", environment)
        revision = int(row.config_revision)
        production = bool(row.production)
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
            revision=f"{environment}:{revision}",
            environment=environment,
            environments={environment: EnvironmentInfo(production=production)},
            flags=documents,
            experiments=self.tx.experiments.running_infos(environment) or None,
        )

    def revisions(self, token_ids: Collection[str] = ()) -> tuple[dict[str, int], set[str]]:
        """Every environment's config revision and which of ``token_ids`` are still live.

        One statement whatever the number of environments: the control plane runs it every
        second (its revision poll, which also ends the event streams of revoked tokens).
        """
        query = select(
            environments.c.key, environments.c.config_revision, literal(0, Integer).label("kind")
        )
        if token_ids:
            live = select(tokens.c.id, literal(0, Integer), literal(1, Integer)).where(
                tokens.c.id.in_(sorted(token_ids)), tokens.c.revoked.is_(False)
            )
            query = union_all(query, live)  # type: ignore[assignment]
        revisions: dict[str, int] = {}
        alive: set[str] = set()
        for key, revision, kind in self._conn.execute(query):
            if kind:
                alive.add(key)
            else:
                revisions[key] = int(revision)
        return revisions, alive
