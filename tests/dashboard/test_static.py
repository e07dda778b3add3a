"""The dashboard's page and files over plain HTTP: redirects, content types, headers, and
nothing that would make the page load anything from another host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rollwise.server.dashboard._assets import CONTENT_TYPES

from ..server._support import app_for
from ._plane import with_dashboard

STATIC = Path(str(files("rollwise.server.dashboard") / "static"))
SHIPPED = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())
# XML namespace names are identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}
URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.\-]+\.[A-Za-z]{2,}[^\s\"'`)]*")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("dashboard") / "rollwise.db"
    with TestClient(with_dashboard(app_for(f"sqlite:///{database}"))) as test_client:
        yield test_client


def test_the_root_and_ui_redirect_to_the_page(client: TestClient) -> None:
    for path in ("/", "/ui"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == "ui/"
    assert client.get("/").url.path == "/ui/"


def test_the_page_is_served_without_a_token_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="js/app.js">' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/index.html").content == response.content


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_file_is_served_with_its_type(client: TestClient, name: str) -> None:
    response = client.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[Path(name).suffix]
    assert response.content == (STATIC / name).read_bytes()
    again = client.get(f"/ui/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_javascript_is_served_as_javascript_for_es_modules(client: TestClient) -> None:
    modules = [name for name in SHIPPED if name.endswith(".js")]
    assert "js/app.js" in modules
    assert "js/views/rollout.js" in modules
    for name in modules:
        assert client.get(f"/ui/{name}").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "path",
    [
        "/ui/missing.js",
        "/ui/../app.py",
        "/ui/%2e%2e/routes.py",
        "/ui/js/../../routes.py",
        "/ui/.hidden.js",
        "/ui/routes.py",
        "/ui/js/",
        "/ui/js",
    ],
)
def test_anything_else_is_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_no_static_file_refers_to_another_host() -> None:
    assert SHIPPED, "no static files found"
    for name in SHIPPED:
        text = (STATIC / name).read_text(encoding="utf-8")
        external = set(URL.findall(text)) - NAMESPACES
        assert not external, f"{name} refers to {sorted(external)}"
        assert "@import" not in text
        assert "innerHTML" not in text, f"{name}: build nodes with dom.js, not innerHTML"


def test_the_dashboard_is_not_part_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/ui")]
