"""The same flag in peer SDKs, each evaluating locally with no network.

Every peer gets a 25% rollout keyed on the user id and, for case (b), a rule that serves
the flag to ``country == NZ`` first. Contexts the SDK wants as objects are built before
timing starts (generous to the peers); anything an application must do per call is timed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = Callable[[], int]
Close = Callable[[], None]


@dataclass(frozen=True)
class PeerSetup:
    name: str
    setup: Callable[[str, bool, list[dict[str, str]]], tuple[Run, Close]]


def _nothing() -> None:
    return None


def growthbook(flag: str, with_rule: bool, ctxs: list[dict[str, str]]) -> tuple[Run, Close]:
    from growthbook import GrowthBook

    rules: list[dict[str, Any]] = []
    if with_rule:
        rules.append({"condition": {"country": "NZ"}, "force": True})
    rules.append({"force": True, "coverage": 0.25, "hashAttribute": "id"})
    gb = GrowthBook(features={flag: {"defaultValue": False, "rules": rules}})
    attributes = [{"id": c["user_id"], "country": c["country"]} for c in ctxs]

    def run() -> int:
        hits = 0
        for attrs in attributes:
            gb.set_attributes(attrs)
            if gb.is_on(flag):
                hits += 1
        return hits

    return run, gb.destroy


def launchdarkly(flag: str, with_rule: bool, ctxs: list[dict[str, str]]) -> tuple[Run, Close]:
    import ldclient
    from ldclient import Context
    from ldclient.config import Config
    from ldclient.integrations import Files

    rules = []
    if with_rule:
        rules.append(
            {
                "id": "nz",
                "variation": 1,
                "clauses": [
                    {"attribute": "country", "op": "in", "values": ["NZ"], "negate": False}
                ],
            }
        )
    definition = {
        "flags": {
            flag: {
                "key": flag,
                "version": 1,
                "on": True,
                "variations": [False, True],
                "offVariation": 0,
                "salt": "bench",
                "rules": rules,
                "targets": [],
                "prerequisites": [],
                "fallthrough": {
                    "rollout": {
                        "variations": [
                            {"variation": 0, "weight": 75000},
                            {"variation": 1, "weight": 25000},
                        ]
                    }
                },
            }
        }
    }
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(definition, file)
    logging.getLogger("ldclient").setLevel(logging.ERROR)
    config = Config(
        sdk_key="bench",
        update_processor_class=Files.new_data_source(paths=[path]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    client = ldclient.client.LDClient(config=config, start_wait=5)
    contexts = [Context.builder(c["user_id"]).set("country", c["country"]).build() for c in ctxs]

    def run() -> int:
        hits = 0
        variation = client.variation
        for context in contexts:
            if variation(flag, context, False):
                hits += 1
        return hits

    def close() -> None:
        client.close()
        os.unlink(path)

    return run, close


def flagsmith(flag: str, with_rule: bool, ctxs: list[dict[str, str]]) -> tuple[Run, Close]:
    from flagsmith import Flagsmith
    from flagsmith.offline_handlers import LocalFileHandler

    feature = {"id": 1, "name": flag, "type": "STANDARD"}

    def override(django_id: int, priority: int) -> dict[str, Any]:
        return {
            "feature": feature,
            "enabled": True,
            "feature_state_value": None,
            "django_id": django_id,
            "feature_segment": {"priority": priority},
            "multivariate_feature_state_values": [],
        }

    def segment(
        segment_id: int, name: str, condition: dict[str, Any], priority: int
    ) -> dict[str, Any]:
        return {
            "id": segment_id,
            "name": name,
            "rules": [
                {
                    "type": "ALL",
                    "conditions": [],
                    "rules": [{"type": "ALL", "conditions": [condition], "rules": []}],
                }
            ],
            "feature_states": [override(10 + segment_id, priority)],
        }

    segments = [
        segment(2, "rollout", {"operator": "PERCENTAGE_SPLIT", "property_": "", "value": "25"}, 2)
    ]
    if with_rule:
        segments.insert(
            0, segment(1, "nz", {"operator": "EQUAL", "property_": "country", "value": "NZ"}, 1)
        )
    document = {
        "api_key": "bench",
        "name": "bench",
        "feature_states": [
            {
                "feature": feature,
                "enabled": False,
                "feature_state_value": None,
                "django_id": 1,
                "multivariate_feature_state_values": [],
            }
        ],
        "project": {"id": 1, "name": "bench", "segments": segments},
        "identity_overrides": [],
    }
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(document, file)
    client = Flagsmith(offline_mode=True, offline_handler=LocalFileHandler(path))
    pairs = [(c["user_id"], {"country": c["country"]}) for c in ctxs]

    def run() -> int:
        hits = 0
        get = client.get_identity_flags
        for identifier, traits in pairs:
            if get(identifier, traits).is_feature_enabled(flag):
                hits += 1
        return hits

    def close() -> None:
        os.unlink(path)

    return run, close


def unleash(flag: str, with_rule: bool, ctxs: list[dict[str, str]]) -> tuple[Run, Close]:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache
    from UnleashClient.utils import InstanceAllowType

    strategies: list[dict[str, Any]] = []
    if with_rule:
        strategies.append(
            {
                "name": "default",
                "parameters": {},
                "constraints": [{"contextName": "country", "operator": "IN", "values": ["NZ"]}],
            }
        )
    strategies.append(
        {
            "name": "flexibleRollout",
            "parameters": {"rollout": "25", "stickiness": "userId", "groupId": flag},
            "constraints": [],
        }
    )
    directory = tempfile.mkdtemp(prefix="unleash-bench-")
    cache = FileCache("rollwise-bench", directory=directory)
    cache.bootstrap_from_dict(
        {"version": 1, "features": [{"name": flag, "enabled": True, "strategies": strategies}]}
    )
    logging.getLogger("UnleashClient").setLevel(logging.ERROR)
    client = UnleashClient(
        url="http://127.0.0.1:9",
        app_name="rollwise-bench",
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    client.initialize_client(fetch_toggles=False)
    contexts = [{"userId": c["user_id"], "properties": {"country": c["country"]}} for c in ctxs]

    def run() -> int:
        hits = 0
        is_enabled = client.is_enabled
        for context in contexts:
            if is_enabled(flag, context):
                hits += 1
        return hits

    return run, client.destroy


def openfeature(flag: str, with_rule: bool, ctxs: list[dict[str, str]]) -> tuple[Run, Close]:
    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext

    import rollwise
    from _scenario import rollwise_config
    from rollwise.sdk.openfeature import RollwiseProvider

    api.set_provider(RollwiseProvider(rollwise.Client(rollwise_config(with_rule))))
    client = api.get_client()
    contexts = [EvaluationContext(c["user_id"], {"country": c["country"]}) for c in ctxs]

    def run() -> int:
        hits = 0
        get = client.get_boolean_value
        for context in contexts:
            if get(flag, False, context):
                hits += 1
        return hits

    return run, api.clear_providers


PEERS = [
    PeerSetup("GrowthBook", growthbook),
    PeerSetup("LaunchDarkly", launchdarkly),
    PeerSetup("Flagsmith", flagsmith),
    PeerSetup("Unleash", unleash),
    PeerSetup("OpenFeature+rollwise", openfeature),
]
