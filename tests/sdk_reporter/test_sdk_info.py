"""Every batch says who sent it: version, host, pid, release, start, configuration revision."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

import rollwise
from rollwise import ClientOptions, ConfigError, Reporter
from rollwise.sdk.recorder import RequestRecorder

from .._support.clock import FakeClock
from ._support import CONFIG, FLAG, START, make_client, options, receiving


def _document(revision: str | None) -> dict[str, Any]:
    document = dict(CONFIG)
    if revision is None:
        document.pop("revision", None)
    else:
        document["revision"] = revision
    return document


def _client(
    revision: str | None, clock: FakeClock[float], **client_options: Any
) -> rollwise.Client:
    client_options.setdefault("environ", {})
    return rollwise.Client(
        _document(revision),
        options=ClientOptions(recorder=RequestRecorder(clock=clock), **client_options),
    )


def test_a_batch_names_its_sender_release_and_the_revision_evaluated() -> None:
    clock = FakeClock(START)
    client = _client("production:7", clock, release=" v1.4.2 ")
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock, release="v1.4.2")
        reporter.start()
        client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        assert reporter.close()
        [batch] = receiver.batches()
    info = batch.sdk
    assert info is not None
    assert info.version == rollwise.__version__
    assert info.host == socket.gethostname()[:200]
    assert info.pid == os.getpid()
    assert info.config_revision == 7
    assert info.release == "v1.4.2"
    assert info.started_at == datetime.fromtimestamp(START, UTC)


def test_the_client_options_release_reaches_the_control_plane() -> None:
    client = make_client(release="2026.12.03-rc1")
    with receiving() as (receiver, url):
        assert client.reporter is None
        reporter = Reporter(options(url), client=client, release=client.options.release)
        client.recorder.record(FLAG, "domain", 0.01, 200, route="/pay")
        assert reporter.flush()
        [batch] = receiver.batches()
    assert batch.sdk is not None
    assert batch.sdk.release == "2026.12.03-rc1"


def test_an_attached_reporter_takes_release_from_rollwise_release() -> None:
    with receiving() as (receiver, url):
        client = rollwise.Client(
            _document("staging:12"),
            options=ClientOptions(environ={"ROLLWISE_RELEASE": "v2.0.0"}, reporting=options(url)),
        )
        with client:
            client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        [batch] = receiver.batches()
    assert batch.sdk is not None
    assert (batch.sdk.release, batch.sdk.config_revision) == ("v2.0.0", 12)


def test_the_explicit_release_wins_over_the_variable() -> None:
    with receiving() as (receiver, url):
        client = rollwise.Client(
            _document("production:3"),
            options=ClientOptions(
                environ={"ROLLWISE_RELEASE": "from-env"}, release="given", reporting=options(url)
            ),
        )
        with client:
            client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        [batch] = receiver.batches()
    assert batch.sdk is not None
    assert batch.sdk.release == "given"


def test_the_revision_is_read_when_the_batch_is_sent() -> None:
    clock = FakeClock(START)
    client = _client("production:1", clock)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock)
        client.recorder.record(FLAG, "legacy", 0.01, 200, route="/a")
        clock.advance(10)
        assert reporter.collect() == 1  # queued under revision 1, not sent yet
        assert client.config_received(_document("production:2"), "test")
        assert reporter.flush()
        revisions = {batch.sdk.config_revision for batch in receiver.batches() if batch.sdk}
    assert revisions == {2}


@pytest.mark.parametrize("revision", [None, "r1", "production:", "production:-3", "1e9"])
def test_no_numbered_revision_reports_none_and_the_reporter_goes_on(
    revision: str | None,
) -> None:
    clock = FakeClock(START)
    client = _client(revision, clock)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock)
        client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        assert reporter.flush()
        [batch] = receiver.batches()
    assert batch.sdk is not None
    assert batch.sdk.config_revision is None
    assert batch.sdk.release is None


def test_a_reporter_without_a_client_still_says_who_it_is() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), recorder=recorder, clock=clock, environ={})
        recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        assert reporter.flush()
        [batch] = receiver.batches()
    assert batch.sdk is not None
    assert batch.sdk.config_revision is None
    assert batch.sdk.pid == os.getpid()


@pytest.mark.parametrize("release", ["", "   ", "x" * 101])
def test_a_bad_release_option_is_a_config_error_naming_it(release: str) -> None:
    with pytest.raises(ConfigError, match="release: must be 1 to 100 characters"):
        ClientOptions(release=release)


def test_a_release_option_that_is_not_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="release: must be text"):
        ClientOptions(release=42)  # type: ignore[arg-type]


def test_a_too_long_rollwise_release_is_a_config_error_naming_the_variable() -> None:
    reporting = options("http://127.0.0.1:9")
    with pytest.raises(ConfigError) as raised:
        rollwise.Client(
            CONFIG,
            options=ClientOptions(environ={"ROLLWISE_RELEASE": "v" * 101}, reporting=reporting),
        )
    assert str(raised.value).startswith("ROLLWISE_RELEASE: must be 1 to 100 characters")


def test_an_empty_rollwise_release_is_unset() -> None:
    reporter = Reporter(options("http://127.0.0.1:9"), environ={"ROLLWISE_RELEASE": "  "})
    assert reporter.sdk_info().release is None
