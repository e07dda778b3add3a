"""``/docs``: Swagger UI served from an installed package, so it works offline.

FastAPI's default page loads Swagger UI from a CDN: behind a firewall, or on a laptop on a
plane, ``/docs`` was a blank page. The assets (Swagger UI 5, which renders the OpenAPI 3.1
FastAPI emits) come from the ``fastapi-offline`` package and are served under
``/docs/assets``; the page references nothing else.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "install_api_docs", "swagger_assets"]

ASSETS_PATH = "/docs/assets"


def swagger_assets() -> Path:
    """The folder holding ``swagger-ui-bundle.js`` and ``swagger-ui.css``."""
    return Path(str(files("fastapi_offline") / "static"))


def install_api_docs(app: FastAPI, path: str = "/docs") -> None:
    """Mount the assets and the page; the app must be created with ``docs_url=None``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_assets()), name="docs-assets")
    redirect = f"{path}/oauth2-redirect"

    @app.get(path, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        # request.app, not the enclosing app: FastAPI caches endpoints process-wide, and a
        # closure over the app would keep every app ever built alive.
        return get_swagger_ui_html(
            openapi_url=f"{root}{request.app.openapi_url}",
            title=f"{request.app.title} - API",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
