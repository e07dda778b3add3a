"""Usage counting: off unless asked, exact when on, across threads, reloads and fork."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import rollwise
from rollwise import ClientOptions

from .._support.fork import Send, forked
from ._support import CONFIG, FLAG


def make_client(config: dict[str, Any] = CONFIG) -> rollwise.Client:
    return rollwise.Client(config, options=ClientOptions(environ={}))


def test_nothing_is_counted_unless_counting_is_on() -> None:
    client = make_client()
    compiled = client._evaluators[FLAG]
    for n in range(100):
        client.variant(FLAG, {"user_id": f"u{n}"})
    assert client.usage_counting is False
    assert client._evaluators[FLAG] is compiled  # the hot path is untouched
    assert client.usage.drain() == []


def test_counts_are_exact_and_drained_once() -> None:
    client = make_client()
    client.set_usage_counting(True)
    served = Counter(client.variant(FLAG, {"user_id": f"u{n}"}) for n in range(500))
    assert client.is_enabled("search", {"user_id": "x"})
    client.evaluate("search", {"user_id": "y"})
    drained = {(flag, variant): count for flag, variant, count in client.usage.drain()}
    assert drained == {
        (FLAG, "legacy"): served["legacy"],
        (FLAG, "domain"): served["domain"],
        ("search", "on"): 2,
    }
    assert client.usage.drain() == []
    client.variant(FLAG, {"user_id": "u1"})
    assert sum(count for _, _, count in client.usage.drain()) == 1


def test_turning_counting_off_restores_the_compiled_evaluators() -> None:
    client = make_client()
    compiled = client._evaluators[FLAG]
    client.set_usage_counting(True)
    assert client._evaluators[FLAG] is not compiled
    client.set_usage_counting(False)
    assert client._evaluators[FLAG] is compiled
    client.variant(FLAG, {"user_id": "u"})
    assert client.usage.drain() == []


def test_overrides_reloads_and_the_error_path_are_counted_as_served() -> None:
    client = make_client()
    client.set_usage_counting(True)
    with client.override(FLAG, "domain"):
        client.variant(FLAG, {"user_id": "u"})
    assert client.config_received(CONFIG, "reload")
    client.variant("search", {"user_id": "u"})
    client.variant("search", None)  # type: ignore[arg-type]  # served, not an error
    client.variant("nope", {"user_id": "u"})  # unknown: not a flag anyone can report on
    drained = {(flag, variant): count for flag, variant, count in client.usage.drain()}
    assert drained == {(FLAG, "domain"): 1, ("search", "on"): 2}


def test_threads_lose_no_count() -> None:
    client = make_client()
    client.set_usage_counting(True)
    barrier = threading.Barrier(4)

    def work(offset: int) -> None:
        barrier.wait()
        variant = client.variant
        for n in range(20_000):
            variant("search", {"user_id": f"{offset}-{n}"})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.usage.drain() == [("search", "on", 80_000)]


@settings(max_examples=25, deadline=None)
@given(
    share=st.integers(0, 10_000),
    users=st.lists(st.text(min_size=1, max_size=8), max_size=50),
)
def test_counts_match_what_was_served(share: int, users: list[str]) -> None:
    config = {
        "flags": [
            {
                "key": "f",
                "variants": ["a", "b"],
                "environments": {"production": {"split": {"a": 10_000 - share, "b": share}}},
            }
        ]
    }
    client = make_client(config)
    client.set_usage_counting(True)
    served = Counter(client.variant("f", {"user_id": user}) for user in users)
    assert {(f, v): n for f, v, n in client.usage.drain()} == {
        ("f", variant): count for variant, count in served.items()
    }


def test_a_forked_child_counts_only_its_own_evaluations() -> None:
    client = make_client()
    client.set_usage_counting(True)
    for _ in range(5):
        client.variant("search", {"user_id": "u"})

    def child(send: Send) -> None:
        before = client.usage.drain()
        client.variant("search", {"user_id": "u"})
        send({"before": before, "after": client.usage.drain()})

    with forked(child) as reports:
        assert reports.next() == {"before": [], "after": [["search", "on", 1]]}
    assert client.usage.drain() == [("search", "on", 5)]
