"""Flag evaluation speed: rollwise's ``client.variant`` against a bare mmh3 loop and peers.

Prints nanoseconds per evaluation for
  (a) a 25% percentage rollout keyed on a string user id, and
  (b) the same flag with one attribute rule in front (``country eq NZ``; 1% of users match),
each as a ratio to an mmh3 floor loop measured in the same run over the same ids
(``mmh3.hash(f"{flag}:{user}") % 10000 < 2500``), median of N repeats. Ratios, not absolute
times, are the figures to compare: these machines are noisy, the ratio much less so.

    python bench/evaluate.py              # rollwise only; targets (a) <= 2.5x, (b) <= 5x
    python bench/evaluate.py --peers      # also GrowthBook, LaunchDarkly, Flagsmith,
                                          # Unleash and OpenFeature (pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

import rollwise
from _peers import PEERS, PeerSetup
from _scenario import FLAG, rollwise_config
from _timing import floor_loop, median_seconds

TARGETS = {"a": 2.5, "b": 5.0}


@dataclass
class Figure:
    name: str
    scenario: str
    ns_per_eval: float | None
    ratio_to_floor: float | None
    share_on: float | None
    users: int
    note: str = ""


def contexts(count: int) -> list[dict[str, str]]:
    return [
        {"user_id": f"user-{n}", "country": "NZ" if n % 100 == 0 else "US"} for n in range(count)
    ]


def rollwise_run(with_rule: bool, ctxs: list[dict[str, str]]) -> Callable[[], int]:
    client = rollwise.Client(rollwise_config(with_rule))

    def run() -> int:
        variant = client.variant
        hits = 0
        for context in ctxs:
            if variant(FLAG, context) == "on":
                hits += 1
        return hits

    return run


def measure(
    name: str,
    scenario: str,
    run: Callable[[], int],
    users: int,
    repeats: int,
    floor_ns: float,
    note: str = "",
) -> Figure:
    hits = run()  # warm-up, and the observed share
    seconds = median_seconds(run, repeats)
    ns = seconds / users * 1e9
    return Figure(name, scenario, ns, ns / floor_ns, hits / users, users, note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument(
        "--peer-users", type=int, default=20_000, help="users for peer SDKs (they are much slower)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peers", action="store_true", help="also run peer SDKs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    ctxs = contexts(args.users)
    ids = [c["user_id"] for c in ctxs]
    floor_ns = median_seconds(floor_loop(FLAG, ids), args.repeats) / len(ids) * 1e9
    figures = [
        Figure("mmh3 floor", "-", floor_ns, 1.0, None, len(ids)),
        measure("rollwise", "a", rollwise_run(False, ctxs), len(ctxs), args.repeats, floor_ns),
        measure("rollwise", "b", rollwise_run(True, ctxs), len(ctxs), args.repeats, floor_ns),
    ]
    if args.peers:
        peer_ctxs = ctxs[: args.peer_users]
        for peer in PEERS:
            for scenario in ("a", "b"):
                figures.append(run_peer(peer, scenario, peer_ctxs, args.repeats, floor_ns))

    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=1))
    else:
        print_table(figures)
    return 0


def run_peer(
    peer: PeerSetup, scenario: str, ctxs: list[dict[str, str]], repeats: int, floor_ns: float
) -> Figure:
    try:
        run, close = peer.setup(FLAG, scenario == "b", ctxs)
    except ImportError as error:
        return Figure(peer.name, scenario, None, None, None, 0, f"not installed ({error.name})")
    except Exception as error:
        return Figure(peer.name, scenario, None, None, None, 0, f"failed: {error!r}"[:120])
    try:
        note = f"{len(ctxs):,} users"
        return measure(peer.name, scenario, run, len(ctxs), repeats, floor_ns, note)
    except Exception as error:
        return Figure(peer.name, scenario, None, None, None, 0, f"failed: {error!r}"[:120])
    finally:
        close()


def print_table(figures: list[Figure]) -> None:
    print(f"{'implementation':<22}{'case':<6}{'ns/eval':>10}{'x floor':>9}{'share on':>10}  note")
    for f in figures:
        ns = f"{f.ns_per_eval:,.0f}" if f.ns_per_eval is not None else "-"
        ratio = f"{f.ratio_to_floor:.2f}" if f.ratio_to_floor is not None else "-"
        share = f"{f.share_on:.1%}" if f.share_on is not None else "-"
        note = f.note
        if f.name == "rollwise" and f.ratio_to_floor is not None:
            target = TARGETS[f.scenario]
            verdict = "PASS" if f.ratio_to_floor <= target else "MISS"
            note = f"target <= {target}x floor: {verdict}"
        print(f"{f.name:<22}{f.scenario:<6}{ns:>10}{ratio:>9}{share:>10}  {note}")
    print(
        "(a) 25% rollout on user_id; (b) the same with a 'country eq NZ' rule in front "
        "(1% match, so the expected share is ~25.75%)"
    )


if __name__ == "__main__":
    sys.exit(main())
