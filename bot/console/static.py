"""Front-end files served from the package (WeCom's in-app browser and store networks may block a
CDN): htmx and uPlot as published on npm (versions in static/VERSIONS), plus the console's own."""
from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}


def _load() -> dict[str, tuple[bytes, str, str]]:
    out = {}
    for p in ROOT.iterdir():
        if p.is_file() and p.suffix in TYPES:
            data = p.read_bytes()
            out[p.name] = (data, TYPES[p.suffix], hashlib.sha256(data).hexdigest()[:16])
    return out


FILES = _load()


async def serve(request: web.Request) -> web.Response:
    found = FILES.get(request.match_info["name"])
    if found is None:
        return web.Response(status=404, text="not found")
    data, ctype, etag = found
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return web.Response(status=304)
    return web.Response(body=data, content_type=ctype, charset="utf-8",
                        headers={"ETag": f'"{etag}"', "Cache-Control": "public, max-age=86400",
                                 "X-Content-Type-Options": "nosniff"})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/static/{name}", serve)
