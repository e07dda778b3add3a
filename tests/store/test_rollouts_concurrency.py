"""Racing writers on both databases: two creators of a rollout for the same flag and
environment, two appliers of an action on the same version. Exactly one wins each time."""

from __future__ import annotations

import threading
from collections.abc import Callable

from rollwise.application import act_on_rollout, create_rollout
from rollwise.errors import ConflictError
from rollwise.store import RolloutRecord, Store

from ._support import SPEC, seed

ROUNDS = 5


def race(work: list[Callable[[], RolloutRecord]]) -> list[RolloutRecord | ConflictError]:
    barrier = threading.Barrier(len(work))
    results: list[RolloutRecord | ConflictError | None] = [None] * len(work)

    def run(index: int) -> None:
        barrier.wait(10)
        try:
            results[index] = work[index]()
        except ConflictError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(result is not None for result in results)
    return [r for r in results if r is not None]


def test_two_creators_for_the_same_flag_exactly_one_wins(store: Store) -> None:
    seed(store)
    for round_ in range(ROUNDS):

        def create(who: str) -> Callable[[], RolloutRecord]:
            def work() -> RolloutRecord:
                with store.transaction(who) as tx:
                    return create_rollout(tx, SPEC, start=True)

            return work

        results = race([create(f"a{round_}"), create(f"b{round_}")])
        winners = [r for r in results if isinstance(r, RolloutRecord)]
        losers = [r for r in results if isinstance(r, ConflictError)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert losers[0].details["rollout_id"] == winners[0].id
        with store.transaction("check") as tx:
            active = tx.rollouts.list_rollouts(active=True)
            assert [r.id for r in active] == [winners[0].id]
            assert len(tx.rollouts.list_history(winners[0].id)) == 1
            assert tx.flags.get_state("checkout", "production").state.split == {
                "legacy": 9000,
                "domain": 1000,
            }
            act_on_rollout(tx, winners[0].id, "abort", expected_version=2)


def test_two_appliers_on_the_same_version_exactly_one_wins(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True)

    def act(action: str) -> Callable[[], RolloutRecord]:
        def work() -> RolloutRecord:
            with store.transaction(action) as tx:
                return act_on_rollout(tx, rollout.id, action, expected_version=2)

        return work

    results = race([act("advance"), act("pause")])
    winners = [r for r in results if isinstance(r, RolloutRecord)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0].details["current_version"] == 3
    with store.transaction("check") as tx:
        history = tx.rollouts.list_history(rollout.id)
        assert [h.seq for h in history] == [1, 2]
        assert history[-1].version == 3
        assert tx.rollouts.get(rollout.id) == winners[0]
