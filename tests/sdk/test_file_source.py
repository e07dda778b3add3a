"""A watched YAML/JSON file: changes are picked up, bad files never replace good ones."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import yaml

import rollwise
from rollwise import FileSource, Reason

from .._support.waiting import wait_until
from ._support import flag_document, write_config


def test_yaml_file_changes_are_picked_up_by_check(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("r1", 0))
    source = FileSource(path, poll_interval=3600)
    client = rollwise.Client(source)
    assert client.revision == "r1"
    assert client.variant("checkout", {"user_id": "u"}) == "legacy"
    client.start()
    try:
        write_config(path, flag_document("r2", 10000))
        source.check()
        assert client.revision == "r2"
        assert client.variant("checkout", {"user_id": "u"}) == "domain"
        source.check()  # unchanged file: nothing happens
        assert client.health().errors == {}
    finally:
        client.close()


def test_json_file_reloaded_by_the_polling_thread(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text(json.dumps(flag_document("r1", 0)))
    with rollwise.Client(FileSource(path, poll_interval=0.02)) as client:
        assert client.revision == "r1"
        write_config(path, json.dumps(flag_document("r2", 10000)))
        assert wait_until(lambda: client.revision == "r2")
        assert client.variant("checkout", {"user_id": "u"}) == "domain"


def test_invalid_files_are_reported_and_the_last_good_config_kept(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("good", 10000))
    source = FileSource(path, poll_interval=3600)
    with rollwise.Client(source) as client:
        write_config(path, "flags: [unclosed")
        source.check()
        assert client.revision == "good"
        assert "not valid" in (client.health().last_source_error or "")
        assert client.health().errors["source_error"] == 1

        broken = flag_document("broken", 10000)
        broken["flags"][0]["environments"]["production"]["split"] = {"legacy": 1, "domain": 1}
        write_config(path, broken)
        source.check()
        assert client.revision == "good"
        assert client.variant("checkout", {"user_id": "u"}) == "domain"
        assert "sum to 2" in (client.health().last_source_error or "")
        assert client.health().errors["invalid_config"] == 1
        source.check()  # the same bad content is not reported again
        assert client.health().errors["invalid_config"] == 1

        write_config(path, flag_document("fixed", 0))
        source.check()
        assert client.revision == "fixed"
        assert client.variant("checkout", {"user_id": "u"}) == "legacy"


def test_deleted_file_keeps_the_last_good_config(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("good", 10000))
    source = FileSource(path, poll_interval=3600)
    with rollwise.Client(source) as client:
        source.check()
        os.remove(path)
        source.check()
        assert client.revision == "good"
        assert "cannot read" in (client.health().last_source_error or "")
        assert client.variant("checkout", {"user_id": "u"}) == "domain"
        write_config(path, flag_document("back", 0))
        source.check()
        assert client.revision == "back"


def test_missing_file_at_start_serves_defaults_then_loads(tmp_path: Path) -> None:
    path = tmp_path / "later.yaml"
    client = rollwise.Client(str(path))
    assert client.revision is None
    assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.UNKNOWN_FLAG
    assert "cannot read" in (client.health().last_source_error or "")
    client.start()
    try:
        write_config(path, flag_document("arrived", 10000))
        assert isinstance(client._source, FileSource)
        client._source.check()
        assert client.variant("checkout", {"user_id": "u"}) == "domain"
    finally:
        client.close()


def test_close_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("r1", 0))
    source = FileSource(path, poll_interval=0.02)
    client = rollwise.Client(source).start()
    poller = f"rollwise-file-{path.name}"
    assert poller in _thread_names()
    client.close()
    # close() joined the thread: it is gone now, not at some later moment we would wait for
    assert poller not in _thread_names()
    write_config(path, flag_document("r2", 10000))
    source.check()  # what the thread would have done next: a closed source offers nothing
    assert client.revision == "r1"


def _thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_atomic_replace_and_in_place_writes_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "flags.yml"
    path.write_text(yaml.safe_dump(flag_document("r1", 0)))
    source = FileSource(path, poll_interval=3600)
    with rollwise.Client(source) as client:
        staged = tmp_path / "flags.yml.new"
        staged.write_text(yaml.safe_dump(flag_document("r2", 10000)))
        os.replace(staged, path)
        source.check()
        assert (client.revision, client.variant("checkout", {"user_id": "u"})) == ("r2", "domain")
        with path.open("w") as handle:  # rewritten in place: same inode
            handle.write(yaml.safe_dump(flag_document("r3", 0)))
        source.check()
        assert (client.revision, client.variant("checkout", {"user_id": "u"})) == ("r3", "legacy")
        assert client.health().errors == {}
        assert client.health().origin == str(path)


def test_an_empty_file_is_an_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("good", 10000))
    source = FileSource(path, poll_interval=3600)
    with rollwise.Client(source) as client:
        write_config(path, "")
        source.check()
        assert client.revision == "good"
        assert client.health().errors == {"invalid_config": 1}
        assert "expected a mapping" in (client.health().last_source_error or "")


class CountingSource(FileSource):
    """A file source that counts its polling ticks, so a test can wait for N of them."""

    ticks = 0

    def check(self) -> None:
        super().check()
        self.ticks += 1


def test_polling_thread_reports_bad_files_once_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("good", 10000))
    source = CountingSource(path, poll_interval=0.005)
    with rollwise.Client(source) as client:
        write_config(path, "flags: [unclosed")
        assert wait_until(lambda: client.health().errors.get("source_error") == 1)
        broken = flag_document("broken", 10000)
        broken["flags"][0]["environments"]["production"]["split"] = {"legacy": 5000}
        write_config(path, broken)
        assert wait_until(lambda: client.health().errors.get("invalid_config") == 1)
        seen = source.ticks
        assert wait_until(lambda: source.ticks >= seen + 20)
        # twenty more ticks over the same bad file: no new report, the good config serves
        assert client.health().errors == {"source_error": 1, "invalid_config": 1}
        assert (client.revision, client.variant("checkout", {"user_id": "u"})) == (
            "good",
            "domain",
        )
        write_config(path, flag_document("fixed", 0))
        assert wait_until(lambda: client.revision == "fixed")
        assert client.variant("checkout", {"user_id": "u"}) == "legacy"
        assert client.health().errors == {"source_error": 1, "invalid_config": 1}
