"""Input that used to be read differently per database, or to need the internet.

- NUL in any text of a request: one 422 on SQLite and PostgreSQL (was 201 / 422).
- ``search`` is literal text: ``_`` and ``%`` are not wildcards.
- ``/docs`` references only assets the server itself serves (no CDN).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ._support import ADMIN, bearer

ADMIN_HEADERS = bearer(ADMIN)


def _refused(response: object, where: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(f"{where}: ")
    assert "NUL" in error["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"key": "checkout", "description": "a\x00b"}, "body.description"),
        ({"key": "check\x00out"}, "body.key"),
        ({"key": "checkout", "tags": ["ok", "n\x00"]}, "body.tags.1"),
    ],
)
def test_nul_in_a_body_is_the_same_422_on_every_database(
    client: TestClient, body: dict[str, object], where: str
) -> None:
    _refused(client.post("/api/v1/flags", json=body, headers=ADMIN_HEADERS), where)
    assert client.get("/api/v1/flags", headers=ADMIN_HEADERS).json() == []


def test_nul_deep_in_a_flag_state_is_refused(client: TestClient) -> None:
    assert client.post("/api/v1/environments", json={"key": "prod"}, headers=ADMIN_HEADERS)
    assert client.post("/api/v1/flags", json={"key": "f"}, headers=ADMIN_HEADERS).is_success
    rule = {
        "conditions": [{"attribute": "country", "op": "eq", "value": "N\x00Z"}],
        "variant": "on",
    }
    response = client.put(
        "/api/v1/flags/f/environments/prod",
        json={"rules": [rule], "version": 0},
        headers=ADMIN_HEADERS,
    )
    _refused(response, "body.rules.0.conditions.0.value")


def test_nul_in_the_query_or_path_is_refused(client: TestClient) -> None:
    _refused(
        client.get("/api/v1/flags", params={"search": "a\x00"}, headers=ADMIN_HEADERS),
        "query.search",
    )
    _refused(client.get("/api/v1/flags/a%00b", headers=ADMIN_HEADERS), "path.key")


def test_search_is_literal_text(client: TestClient) -> None:
    for key, description in (("alpha", "plain"), ("beta", "50% off"), ("snake_case", "")):
        body = {"key": key, "description": description}
        assert client.post("/api/v1/flags", json=body, headers=ADMIN_HEADERS).is_success

    def found(search: str) -> list[str]:
        response = client.get("/api/v1/flags", params={"search": search}, headers=ADMIN_HEADERS)
        assert response.status_code == 200, response.text
        return [flag["key"] for flag in response.json()]

    assert found("_") == ["snake_case"]
    assert found("%") == ["beta"]
    assert found("\\") == []
    assert found("ALPHA") == ["alpha"]


def test_docs_are_served_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""", page.text)
    urls = [a or b for a, b in references]
    assert urls, page.text
    for url in urls:
        assert url.startswith("/"), f"/docs references {url}"
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs/assets/{asset}" in urls
        served = client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 10_000
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")
