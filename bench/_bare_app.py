"""The baseline for bench/config_endpoint.py: a bare ASGI app returning fixed bytes.

It answers exactly what the control plane's SDK config endpoint answers (the same body and
ETag, 304 on a matching If-None-Match) and nothing else: no routing, auth or metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BARE_BODY_FILE"]).read_bytes()
ETAG = os.environ["BARE_ETAG"].encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    if headers.get(b"if-none-match") == ETAG:
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [(b"etag", ETAG), (b"cache-control", b"no-cache")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"etag", ETAG),
                (b"cache-control", b"no-cache"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
