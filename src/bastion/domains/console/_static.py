"""The console's static files, from the package: a fixed list, read once."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from bastion.domains.console._web import secured

_TYPES = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "sse.min.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


class StaticFiles:
    def __init__(self) -> None:
        root = resources.files("bastion.domains.console").joinpath("static")
        self._files = {name: root.joinpath(name).read_bytes() for name in _TYPES}

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = self._files.get(name)
        if body is None:
            return secured(Response("not found", status_code=404, media_type="text/plain"))
        response = Response(body, media_type=_TYPES[name])
        response.headers["cache-control"] = "public, max-age=3600"
        return secured(response, cache=True)
