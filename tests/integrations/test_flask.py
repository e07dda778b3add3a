"""What is particular to the Flask extension: hooks, g.user, blueprints, 500s, guards."""

from __future__ import annotations

import logging
from typing import Any

import flask
import pytest

from rollwise import ConfigError
from rollwise.integrations import Cookie, QueryParam, User
from rollwise.integrations.flask import Rollwise
from rollwise.sdk.recorder import RequestRecorder

from ._support import CHECKOUT, describe, make_client, series


def item_view(n: int) -> Any:
    return describe(flask.g.rollwise, CHECKOUT)


def status_of(response: Any) -> int:
    """The status, once the body is read: a request is over when its body has been sent."""
    response.get_data()
    return int(response.status_code)


def test_g_user_loaded_by_a_later_before_request_is_the_unit() -> None:
    client = make_client()
    recorder = RequestRecorder()
    app = flask.Flask("users")
    Rollwise(app, client, flags=[CHECKOUT], unit=User(), recorder=recorder)

    @app.before_request
    def load_user() -> None:  # registered after the extension: evaluation is lazy
        name = flask.request.headers.get("X-Login")
        flask.g.user = {"id": name} if name else None

    app.add_url_rule("/items/<int:n>", view_func=item_view)
    http = app.test_client()
    alice = http.get("/items/1", headers={"X-Login": "alice"}).get_json()
    anonymous = http.get("/items/1").get_json()
    assert alice["unit"] == "alice"
    assert alice["variant"] == client.variant(CHECKOUT, {"user_id": "alice"})
    assert (anonymous["unit"], anonymous["reason"]) == (None, "missing_unit")
    assert sum(requests for requests, _, _ in series(recorder, 2).values()) == 2


def test_user_loader_cookie_and_query_sources() -> None:
    client = make_client()
    sources: dict[str, Any] = {
        "/a/items/<int:n>": User("account", loader=lambda request: {"account": 77}),
        "/b/items/<int:n>": Cookie("visitor"),
        "/c/items/<int:n>": QueryParam("uid"),
    }
    units = {}
    for rule, source in sources.items():
        app = flask.Flask("sources")
        Rollwise(app, client, flags=[CHECKOUT], unit=source)
        app.add_url_rule(rule, view_func=item_view)
        http = app.test_client()
        http.set_cookie("visitor", "v-5")
        path = rule.replace("<int:n>", "1")
        units[rule] = http.get(path, query_string={"uid": "q-3"}).get_json()["unit"]
    assert list(units.values()) == [77, "v-5", "q-3"]


def test_blueprint_prefixes_are_part_of_the_route_template() -> None:
    recorder = RequestRecorder()
    app = flask.Flask("blueprints")
    shop = flask.Blueprint("shop", __name__, url_prefix="/shops/<shop>")

    @shop.get("/orders/<int:order_id>")
    def order(shop: str, order_id: int) -> Any:
        return describe(flask.g.rollwise, CHECKOUT)

    app.register_blueprint(shop)
    Rollwise(client=make_client(), flags=[CHECKOUT], recorder=recorder).init_app(app)
    http = app.test_client()
    for n in range(3):
        assert status_of(http.get(f"/shops/s{n}/orders/{n}")) == 200
    assert status_of(http.post("/shops/s1/orders/1")) == 405
    assert series(recorder, 4) == {
        (CHECKOUT, "legacy", "/shops/<shop>/orders/<int:order_id>"): (3, 0, 0),
        (CHECKOUT, "legacy", "(unmatched)"): (1, 0, 1),
    }


def test_an_unpropagated_exception_is_recorded_as_flasks_500() -> None:
    recorder = RequestRecorder()
    app = flask.Flask("errors")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    Rollwise(app, make_client(), flags=[CHECKOUT], recorder=recorder)

    @app.get("/fail")
    def fail() -> Any:
        raise RuntimeError("the handler failed")

    assert status_of(app.test_client().get("/fail")) == 500
    assert series(recorder, 1) == {(CHECKOUT, "legacy", "/fail"): (1, 1, 0)}


def test_a_failing_url_value_preprocessor_running_before_the_extension_is_recorded() -> None:
    recorder = RequestRecorder()
    app = flask.Flask("preprocessed")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    Rollwise(app, make_client(), flags=[CHECKOUT], recorder=recorder)

    @app.url_value_preprocessor
    def tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        raise LookupError("no such tenant")

    app.add_url_rule("/items/<int:n>", view_func=item_view)
    assert status_of(app.test_client().get("/items/1")) == 500
    assert series(recorder, 1) == {(CHECKOUT, "legacy", "/items/<int:n>"): (1, 1, 0)}


def test_a_before_request_answering_early_is_still_recorded() -> None:
    recorder = RequestRecorder()
    app = flask.Flask("early")
    Rollwise(app, make_client(), flags=[CHECKOUT], recorder=recorder)

    @app.before_request
    def login_required() -> Any:
        return flask.redirect("/login") if "X-Login" not in flask.request.headers else None

    app.add_url_rule("/items/<int:n>", view_func=item_view)
    http = app.test_client()
    assert status_of(http.get("/items/1")) == 302
    assert status_of(http.get("/items/1", headers={"X-Login": "x"})) == 200
    assert series(recorder, 2) == {(CHECKOUT, "legacy", "/items/<int:n>"): (2, 0, 0)}


def test_setup_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match="client"):
        Rollwise(flags=[CHECKOUT])
    app = flask.Flask("twice")
    Rollwise(app, make_client(), flags=[CHECKOUT])
    with pytest.raises(ConfigError, match="already set up"):
        Rollwise(app, make_client(), flags=[CHECKOUT])


def test_failures_inside_rollwise_never_reach_the_request(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenRecorder(RequestRecorder):
        def record(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("disk on fire")

    def bad_unit(request: flask.Request) -> str:
        raise KeyError("no unit here")

    app = flask.Flask("broken")
    extension = Rollwise(
        app, make_client(), flags=[CHECKOUT], unit=bad_unit, recorder=BrokenRecorder()
    )
    app.add_url_rule("/items/<int:n>", view_func=item_view)
    http = app.test_client()
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        for _ in range(3):
            body = http.get("/items/1").get_json()
            assert (body["variant"], body["reason"]) == ("legacy", "missing_unit")
    assert extension.failures == {"unit": 3, "record": 3}
    assert len([r for r in caplog.records if "failed in the flask integration" in r.message]) == 2
