"""Each process records its requests under its release: the judge compares releases.

In a release rollout the proxy splits traffic between process groups; a process with
``release`` and ``release_flag`` (or ``ROLLWISE_RELEASE`` / ``ROLLWISE_RELEASE_FLAG``)
records every request also under ``(release_flag, release, route)``, so the builtin
provider reads one variant per release.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

import rollwise
from rollwise import ClientOptions, ConfigError, Reporter
from rollwise.analysis import MetricQuery
from rollwise.analysis.providers import BuiltinProvider
from rollwise.integrations import Header
from rollwise.store import Store
from rollwise.store.telemetry.types import VariantWindow

from ..sdk_reporter._support import options, receiving
from ._support import CHECKOUT, Serve, by_flag, config, series, starlette_app

RELEASE_FLAG = "camera-release"
RELEASES = ("v1.4.0", "v1.5.0")


def release_client(release: str) -> rollwise.Client:
    options = ClientOptions(environ={}, release=release, release_flag=RELEASE_FLAG)
    return rollwise.Client(config(), options=options)


def test_every_request_is_also_recorded_under_the_process_release(serving: Serve) -> None:
    client = release_client("v1.5.0")
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        for user in ("a", "b", "c"):
            assert app.get("/items/7", headers={"X-User-Id": user}).status == 200
        assert app.get("/missing").status == 404
        assert app.get("/health").status == 200  # excluded: not recorded under anything
        found = series(app.recorder, 8)
    released = by_flag(found, RELEASE_FLAG)
    assert released[(RELEASE_FLAG, "v1.5.0", app.templates["items"])] == (3, 0, 0)
    [(_, _, route)] = set(released) - {(RELEASE_FLAG, "v1.5.0", app.templates["items"])}
    assert released[(RELEASE_FLAG, "v1.5.0", route)] == (1, 0, 1)  # the 404, same route
    assert sum(r for r, _, _ in by_flag(found, CHECKOUT).values()) == 4  # bound flags as before


def test_without_a_release_flag_nothing_more_is_recorded(serving: Serve) -> None:
    client = rollwise.Client(config(), options=ClientOptions(environ={}, release="v1.5.0"))
    assert client.release_series is None
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        assert app.get("/items/7", headers={"X-User-Id": "a"}).status == 200
        found = series(app.recorder, 1)
    assert {flag for flag, _, _ in found} == {CHECKOUT}


def test_the_environment_names_the_release_and_its_flag() -> None:
    environ = {"ROLLWISE_RELEASE": " v1.4.0 ", "ROLLWISE_RELEASE_FLAG": RELEASE_FLAG}
    client = rollwise.Client(config(), options=ClientOptions(environ=environ))
    assert client.release_series == (RELEASE_FLAG, "v1.4.0")
    options_win = ClientOptions(environ=environ, release="v1.5.0")
    assert rollwise.Client(config(), options=options_win).release_series == (
        RELEASE_FLAG,
        "v1.5.0",
    )


@pytest.mark.parametrize(
    ("client_options", "path", "words"),
    [
        ({"release_flag": RELEASE_FLAG}, "release", "ROLLWISE_RELEASE"),
        ({"environ": {"ROLLWISE_RELEASE_FLAG": RELEASE_FLAG}}, "release", "ROLLWISE_RELEASE"),
        ({"release": "v1 5", "release_flag": RELEASE_FLAG}, "release", "variant"),
        ({"environ": {"ROLLWISE_RELEASE_FLAG": "no spaces"}}, "ROLLWISE_RELEASE_FLAG", "flag key"),
        ({"release_flag": "-bad"}, "release_flag", "flag key"),
    ],
)
def test_a_release_flag_needs_a_release_that_can_be_a_variant(
    client_options: dict[str, object], path: str, words: str
) -> None:
    client_options.setdefault("environ", {})
    with pytest.raises(ConfigError) as raised:
        rollwise.Client(config(), options=ClientOptions(**client_options))  # type: ignore[arg-type]
    assert raised.value.path == path
    assert words in raised.value.reason


def test_binding_the_release_flag_itself_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        starlette_app(release_client("v1.5.0"), flags=[CHECKOUT, RELEASE_FLAG])
    assert raised.value.flag == RELEASE_FLAG
    assert "release flag" in raised.value.reason


# -- two releases, reported, stored and judged ------------------------------------------------


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    with opened.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create(RELEASE_FLAG, variants=list(RELEASES))
    try:
        yield opened
    finally:
        opened.close()


def test_the_builtin_provider_compares_two_releases_from_their_reports(store: Store) -> None:
    began = datetime.now(UTC) - timedelta(minutes=1)
    served = {"v1.4.0": (8, 0), "v1.5.0": (5, 3)}  # (good requests, failing requests)
    with receiving() as (receiver, url):
        for release, (good, failing) in served.items():
            client = release_client(release)
            reporter = Reporter(options(url), client=client)
            app = starlette_app(client, flags=[CHECKOUT], unit=Header("X-User-Id"))
            with reporter, TestClient(app, raise_server_exceptions=False) as http:
                for n in range(good):
                    assert http.get("/items/1", headers={"X-User-Id": f"u{n}"}).status_code == 200
                for _ in range(failing):
                    assert http.get("/fail").status_code == 500
        batches = receiver.batches()
    assert {batch.sdk.release for batch in batches if batch.sdk} == set(RELEASES)
    for batch in batches:
        store.ingest_telemetry("production", batch)

    def read(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindow]:
        with store.transaction("judge") as tx:
            return tx.telemetry.variant_window(environment, flag, start, end)

    provider = BuiltinProvider(read, window_seconds=60)
    query = MetricQuery(
        RELEASE_FLAG,
        "production",
        variants=("v1.5.0", "v1.4.0"),
        start=began,
        end=datetime.now(UTC) + timedelta(minutes=1),
    )
    answer = provider.fetch(query)
    assert list(answer.variants) == ["v1.5.0", "v1.4.0"]
    figures = {name: (m.requests, m.errors) for name, m in answer.variants.items()}
    assert figures == {"v1.5.0": (8, 3), "v1.4.0": (8, 0)}
    assert all(m.latency is not None for m in answer.variants.values())
