"""The Notification model: what it accepts, how it normalises, and its JSON round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rollwise.errors import RollwiseError
from rollwise.notifiers import Kind, Notification, NotificationError, Severity, Subject

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
notifications = st.builds(
    Notification,
    id=st.from_regex(r"\A[A-Za-z0-9_-]{1,128}\Z") | st.integers(min_value=0) | st.uuids(),
    kind=st.sampled_from([kind.value for kind in Kind]) | st.just("custom.thing_happened"),
    severity=st.sampled_from(Severity),
    title=st.text(min_size=1, max_size=60).filter(str.strip),
    summary=st.text(max_size=200),
    subject=st.builds(
        Subject,
        flag=st.none() | st.text(max_size=20),
        environment=st.none() | st.text(max_size=20),
        rollout=st.none() | st.integers(min_value=1).map(str),
        alert_rule=st.none() | st.from_regex(r"\A[a-z-]{1,20}\Z"),
    ),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    fields=st.dictionaries(st.text(min_size=1, max_size=10).filter(str.strip), json_values),
    evidence=json_values,
    links=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(str.strip),
        st.from_regex(r"\Ahttps://[a-z]{1,10}\.example/[a-z0-9/]{0,20}\Z"),
        max_size=3,
    ),
)


@given(notifications)
def test_the_json_form_round_trips_and_keeps_field_order(notification: Notification) -> None:
    stored = json.dumps(notification.to_dict())
    restored = Notification.from_dict(json.loads(stored))
    assert restored == notification
    assert list(restored.fields) == list(notification.fields)
    assert list(restored.links) == list(notification.links)


def test_integer_and_uuid_ids_become_text(
    notification_factory: Callable[..., Notification],
) -> None:
    assert notification_factory(id=42).id == "42"
    uuid = UUID("7f9c2ba4-e88f-4c3a-9a1b-000000000042")
    assert notification_factory(id=uuid).id == str(uuid)
    assert notification_factory(subject={"rollout": 17}).subject.rollout == "17"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"id": ""}, "id", "1 to 128 letters"),
        ({"id": "a b"}, "id", "1 to 128 letters"),
        ({"id": "x" * 129}, "id", "1 to 128 letters"),
        ({"id": "outbox:1"}, "id", "1 to 128 letters"),
        ({"kind": "Alert"}, "kind", "dotted lowercase name"),
        ({"kind": "alert"}, "kind", "dotted lowercase name"),
        ({"severity": "page"}, "severity", "'info', 'warning' or 'critical'"),
        ({"title": " \n "}, "title", "must not be empty"),
        ({"links": {"rollout": "javascript:alert(1)"}}, "links", "must be an http(s) URL"),
        ({"fields": {" ": 1}}, "fields", "field names must not be empty"),
        ({"fields": {"bad": object()}}, "fields", "not a valid JSON value"),
        ({"subject": {"team": "x"}}, "subject.team", "Extra inputs are not permitted"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_invalid_notifications_name_the_field(
    notification_factory: Callable[..., Notification],
    overrides: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        notification_factory(**overrides)
    error = caught.value.errors()[0]
    assert ".".join(str(part) for part in error["loc"]).startswith(field)
    assert reason in error["msg"]


def test_instants_are_stored_in_utc(notification_factory: Callable[..., Notification]) -> None:
    naive = notification_factory(occurred_at=datetime(2024, 5, 1, 12, 0))
    assert naive.occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    shifted = notification_factory(occurred_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    assert shifted.occurred_at.utcoffset() == timedelta(0)
    assert shifted.to_dict()["occurred_at"] == "2024-05-01T12:00:00Z"


def test_titles_are_one_line(notification_factory: Callable[..., Notification]) -> None:
    assert notification_factory(title="  rolled\r\n back  ").title == "rolled back"


def test_notifications_are_frozen(notification: Notification) -> None:
    with pytest.raises(ValidationError):
        notification.title = "changed"  # type: ignore[misc]


def test_subject_renders_its_set_parts(notification: Notification) -> None:
    assert str(notification.subject) == "flag checkout · environment production · rollout 17"
    assert str(Subject(alert_rule="checkout-errors")) == "alert rule checkout-errors"


def test_notification_errors_belong_to_the_rollwise_tree() -> None:
    error = NotificationError("hooks: boom", retryable=True, channel="hooks", status=503)
    assert isinstance(error, RollwiseError)
    assert error.code == "notification_failed"
    assert error.details == {
        "retryable": True,
        "channel": "hooks",
        "notification_id": None,
        "status": 503,
        "retry_after": None,
    }
    assert str(error) == "hooks: boom"
