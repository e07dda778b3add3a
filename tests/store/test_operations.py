"""Store operations on SQLite and PostgreSQL: results, errors, audit rows, config revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import rollwise
from rollwise.core import FlagEnvironment
from rollwise.errors import ConfigError, ConflictError, NotFoundError
from rollwise.store import Store

SPLIT = FlagEnvironment(split={"legacy": 9000, "domain": 1000})


def _seed(store: Store) -> None:
    with store.transaction("alice") as tx:
        tx.environments.create("production", name="Production")
        tx.environments.create("staging")
        tx.flags.create(
            "checkout",
            variants=["legacy", "domain"],
            tags=["payments"],
            description="Checkout on the domain service",
        )


def test_environments(store: Store) -> None:
    _seed(store)
    with store.transaction("alice") as tx:
        assert [e.key for e in tx.environments.list_environments()] == ["production", "staging"]
        production = tx.environments.get("production")
        assert (production.name, production.version) == ("Production", 1)
        assert production.created_at.tzinfo is not None
        assert tx.environments.get("staging").name == "staging"
        updated = tx.environments.update("production", 1, description="live traffic")
        assert (updated.version, updated.description) == (2, "live traffic")
    with store.transaction("alice") as tx:
        with pytest.raises(ConflictError) as stale:
            tx.environments.update("production", 1, name="x")
        assert stale.value.details["current_version"] == 2
        with pytest.raises(ConflictError):
            tx.environments.create("production")
        with pytest.raises(NotFoundError):
            tx.environments.get("nope")
        with pytest.raises(ConfigError) as bad:
            tx.environments.create("no spaces")
        assert bad.value.path == "key"


def test_flags_create_update_archive_and_filters(store: Store) -> None:
    _seed(store)
    with store.transaction("bob") as tx:
        flag = tx.flags.get("checkout")
        assert (flag.variants, flag.off_variant, flag.tags, flag.version) == (
            ["legacy", "domain"],
            "legacy",
            ["payments"],
            1,
        )
        tx.flags.create("search")
        assert [f.key for f in tx.flags.list_flags()] == ["checkout", "search"]
        assert [f.key for f in tx.flags.list_flags(tag="payments")] == ["checkout"]
        assert [f.key for f in tx.flags.list_flags(search="DOMAIN")] == ["checkout"]
        updated = tx.flags.update("checkout", 1, description="new", tags=["b", "a", "a"])
        assert (updated.version, updated.description, updated.tags) == (2, "new", ["a", "b"])
        archived = tx.flags.archive("search")
        assert archived.archived
        assert archived.version == 2
        assert [f.key for f in tx.flags.list_flags()] == ["checkout"]
        assert [f.key for f in tx.flags.list_flags(archived=True)] == ["search"]
        assert len(tx.flags.list_flags(archived=None)) == 2
        assert not tx.flags.unarchive("search", 2).archived


def test_flag_errors(store: Store) -> None:
    _seed(store)
    with store.transaction("bob") as tx:
        with pytest.raises(ConflictError):
            tx.flags.create("checkout")
        with pytest.raises(ConfigError) as duplicate:
            tx.flags.create("dup", variants=["a", "a"])
        assert (duplicate.value.flag, duplicate.value.path) == ("dup", "variants")
        with pytest.raises(ConfigError) as bad_key:
            tx.flags.create("bad key")
        assert bad_key.value.path == "key"
        with pytest.raises(NotFoundError):
            tx.flags.get("nope")
        with pytest.raises(ConflictError) as stale:
            tx.flags.update("checkout", 7, description="x")
        assert stale.value.details["current_version"] == 1


def test_flag_states_kill_and_restore(store: Store) -> None:
    _seed(store)
    with store.transaction("carol") as tx:
        unset = tx.flags.get_state("checkout", "production")
        assert (unset.version, unset.state.enabled) == (0, False)
        created = tx.flags.put_state("checkout", "production", SPLIT, 0)
        assert (created.version, created.state) == (1, SPLIT)
        with pytest.raises(ConflictError) as stale:
            tx.flags.put_state("checkout", "production", SPLIT, 0)
        assert stale.value.details["current_version"] == 1
        killed = tx.flags.set_enabled("checkout", "production", False)
        assert (killed.version, killed.state.enabled, killed.state.split) == (2, False, SPLIT.split)
        restored = tx.flags.set_enabled("checkout", "production", True, 2)
        assert restored.state.enabled
        assert restored.version == 3
        assert [s.environment for s in tx.flags.list_states("checkout")] == ["production"]
        with pytest.raises(ConfigError) as invalid:
            tx.flags.put_state(
                "checkout", "production", FlagEnvironment(split={"legacy": 1, "domain": 1}), 3
            )
        assert invalid.value.path == "environments.production.split"
        with pytest.raises(NotFoundError):
            tx.flags.get_state("checkout", "nope")
        with pytest.raises(NotFoundError):
            tx.flags.put_state("nope", "production", SPLIT, 0)


def test_removing_a_variant_a_state_uses_is_refused(store: Store) -> None:
    _seed(store)
    with store.transaction("carol") as tx:
        tx.flags.put_state("checkout", "staging", FlagEnvironment(default="domain"), 0)
        with pytest.raises(ConfigError) as caught:
            tx.flags.update("checkout", 1, variants=["legacy", "new"])
        assert caught.value.path == "environments.staging.default"
        renamed = tx.flags.update("checkout", 1, variants=["legacy", "domain", "v3"])
        assert renamed.variants == ["legacy", "domain", "v3"]


def test_every_mutation_is_audited_with_actor_before_and_after(store: Store) -> None:
    _seed(store)
    with store.transaction("dave") as tx:
        tx.environments.update("staging", 1, name="Staging")
        tx.flags.put_state("checkout", "production", SPLIT, 0)
        tx.flags.set_enabled("checkout", "production", False)
        tx.flags.set_enabled("checkout", "production", True)
        tx.flags.update("checkout", 1, description="d")
        tx.flags.archive("checkout")
        tx.flags.unarchive("checkout")
        token, secret = tx.tokens.create("ci", "write")
        tx.tokens.revoke(token.id)
    with store.transaction("reader") as tx:
        rows = list(reversed(tx.audit.list_audit(limit=1000)))
    assert [(r.actor, r.action) for r in rows] == [
        ("alice", "environment.create"),
        ("alice", "environment.create"),
        ("alice", "flag.create"),
        ("dave", "environment.update"),
        ("dave", "flag_state.update"),
        ("dave", "flag.kill"),
        ("dave", "flag.restore"),
        ("dave", "flag.update"),
        ("dave", "flag.archive"),
        ("dave", "flag.unarchive"),
        ("dave", "token.create"),
        ("dave", "token.revoke"),
    ]
    kill = rows[5]
    assert (kill.target_type, kill.target, kill.environment) == ("flag", "checkout", "production")
    assert kill.before is not None
    assert kill.before["state"]["enabled"] is True
    assert kill.after is not None
    assert kill.after["state"]["enabled"] is False
    assert rows[0].before is None
    assert rows[0].after is not None
    for row in rows:  # secrets and their hashes never reach the audit log
        assert secret not in str(row.after)
        assert "secret_hash" not in str(row.after)


def test_a_failed_transaction_leaves_neither_change_nor_audit_row(store: Store) -> None:
    _seed(store)

    def crash_mid_transaction() -> None:
        with store.transaction("eve") as tx:
            tx.flags.create("half-done")
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_mid_transaction()
    with store.transaction("reader") as tx:
        assert [f.key for f in tx.flags.list_flags()] == ["checkout"]
        assert all(r.target != "half-done" for r in tx.audit.list_audit())


def test_audit_filters_and_paging(store: Store) -> None:
    _seed(store)
    with store.transaction("frank") as tx:
        tx.flags.put_state("checkout", "staging", SPLIT, 0)
    with store.transaction("reader") as tx:
        assert [r.action for r in tx.audit.list_audit(actor="frank")] == ["flag_state.update"]
        assert len(tx.audit.list_audit(action="environment.create")) == 2
        assert len(tx.audit.list_audit(target_type="flag", target="checkout")) == 2
        assert next(r.environment for r in tx.audit.list_audit(environment="staging")) == "staging"
        first = tx.audit.list_audit(limit=2)
        second = tx.audit.list_audit(limit=2, before_id=first[-1].id)
        assert [r.id for r in first + second] == sorted(
            [r.id for r in first + second], reverse=True
        )
        assert len({r.id for r in first + second}) == 4
        now = datetime.now(UTC)
        assert len(tx.audit.list_audit(since=now - timedelta(minutes=5))) == 4
        assert tx.audit.list_audit(until=now - timedelta(minutes=5)) == []


def test_tokens(store: Store) -> None:
    _seed(store)
    with store.transaction("admin") as tx:
        sdk, secret = tx.tokens.create("app", "sdk", "production")
        assert secret.startswith("rw_sdk_")
        assert secret[7:] not in str(sdk.model_dump())  # no part of the secret is kept
        assert sdk.environment == "production"
        fixed = tx.tokens.create_with_secret("bootstrap", "admin", "a-long-enough-secret")
        assert fixed.scope == "admin"
        for name, scope, environment, path in (
            ("x", "root", None, "scope"),
            ("x", "sdk", None, "environment"),
            ("x", "read", "production", "environment"),
        ):
            with pytest.raises(ConfigError) as caught:
                tx.tokens.create(name, scope, environment)
            assert caught.value.path == path
        with pytest.raises(NotFoundError):
            tx.tokens.create("x", "sdk", "nope")
        assert tx.tokens.count() == 2
        assert tx.tokens.count("admin") == 1
    with store.transaction("auth") as tx:
        found = tx.tokens.authenticate(secret)
        assert found is not None
        assert found.id == sdk.id
        assert tx.tokens.authenticate("rw_sdk_wrong") is None
        tx.tokens.revoke(sdk.id)
        assert tx.tokens.authenticate(secret) is None
        assert [t.revoked for t in tx.tokens.list_tokens()] == [True, False]
        assert tx.environments.get("production")  # unaffected
    with store.transaction("auth") as tx:
        touched = next(t for t in tx.tokens.list_tokens() if t.id == sdk.id)
        assert touched.last_used_at is not None


def test_a_reading_transaction_sees_one_snapshot(store: Store) -> None:
    """An SDK document is read in several statements (revision, then flag states): a commit
    landing between them must not give a revision with another commit's states."""
    _seed(store)
    with store.reading() as reader:
        before = reader.environments.config_revision("production")
        with store.transaction("grace") as tx:  # commits while the reader is open
            tx.flags.put_state("checkout", "production", SPLIT, 0)
        assert reader.environments.config_revision("production") == before
        document = reader.config.document("production")
    assert document.revision == f"production:{before}"
    assert all(flag.environments == {} for flag in document.flags)
    with store.reading() as reader:
        assert reader.environments.config_revision("production") == before + 1


def test_config_document_and_revisions(store: Store) -> None:
    _seed(store)
    with store.transaction("grace") as tx:
        assert tx.environments.config_revision("production") == 1  # the flag creation bumped it
        tx.flags.put_state("checkout", "production", SPLIT, 0)
        tx.flags.put_state("checkout", "staging", FlagEnvironment(default="domain"), 0)
        assert tx.environments.config_revision("production") == 2
        tx.flags.create("archived-one")
        tx.flags.archive("archived-one")
        tx.flags.create("unset")
        document = tx.config.document("production")
        with pytest.raises(NotFoundError):
            tx.config.document("nope")
    assert document.revision == "production:5"
    assert document.environment == "production"
    assert [f.key for f in document.flags] == ["checkout", "unset"]
    assert set(document.flags[0].environments) == {"production"}
    assert document.flags[1].environments == {}
    parsed = rollwise.parse_document(document.model_dump(mode="json", exclude_none=True))
    client = rollwise.Client(parsed)
    counts = {"legacy": 0, "domain": 0}
    for n in range(2000):
        counts[client.variant("checkout", {"user_id": f"u{n}"})] += 1
    assert 100 < counts["domain"] < 320
    assert client.evaluate("unset", {"user_id": "u"}).reason == "disabled"
