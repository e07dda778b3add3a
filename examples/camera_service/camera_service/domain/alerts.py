"""AlertRuleService: alert rules, validated and stored transactionally.

Rules the legacy code did not have: a rule id is created once (a duplicate is a
:class:`~camera_service.errors.Conflict`, not a silent replacement); thresholds lie in
their metric's range; a rule's camera must exist; an update may not rename a rule, add
unknown fields, or create a rule that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import Conflict, InvalidInput, rule_not_found
from ._validation import invalid_input
from .models import AlertRule, AlertRuleSet, CameraRegistry
from .store import YamlStore

__all__ = ["AlertRuleService"]


class AlertRuleService:
    def __init__(self, rules: YamlStore[AlertRuleSet], cameras: YamlStore[CameraRegistry]) -> None:
        self._rules = rules
        self._cameras = cameras

    def list(self) -> tuple[AlertRule, ...]:
        return self._rules.load().rules

    def get(self, rule_id: str) -> AlertRule:
        rule = self._rules.load().find(rule_id)
        if rule is None:
            raise rule_not_found(rule_id)
        return rule

    def create(self, rule: AlertRule) -> AlertRule:
        self._check_camera(rule)
        with self._rules.transaction() as tx:
            if tx.document.find(rule.id) is not None:
                raise Conflict(
                    f"alert rule {rule.id!r} exists already; PUT /alerts/rules/{rule.id} "
                    "changes it",
                    code="duplicate_rule",
                    rule_id=rule.id,
                )
            tx.document = AlertRuleSet(rules=(*tx.document.rules, rule))
        return rule

    def update(self, rule_id: str, changes: Mapping[str, Any]) -> AlertRule:
        """Apply ``changes`` (some of a rule's fields, not its id) to an existing rule."""
        with self._rules.transaction() as tx:
            current = tx.document.find(rule_id)
            if current is None:
                raise rule_not_found(rule_id)
            try:
                updated = AlertRule.model_validate({**current.model_dump(), **changes})
            except ValidationError as error:
                raise invalid_input(error, "the updated rule is not valid") from None
            self._check_camera(updated)
            if updated != current:
                rules = tuple(updated if r.id == rule_id else r for r in tx.document.rules)
                tx.document = AlertRuleSet(rules=rules)
            return updated

    def _check_camera(self, rule: AlertRule) -> None:
        if rule.camera_id is not None and self._cameras.load().find(rule.camera_id) is None:
            raise InvalidInput(
                f"camera {rule.camera_id!r} does not exist",
                code="unknown_camera",
                camera_id=rule.camera_id,
            )
