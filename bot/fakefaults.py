"""Fault modes for the fake WeCom: make it fail on demand, at runtime, the ways the real one does.

    busy     every matching call answers errcode -1 ("system busy")
    http5xx  every matching call answers a bare HTTP error (`status`, default 503)
    hang     the call waits `seconds` (longer than the client timeout), then is carried out and
             answered: WeCom did the work, the client never heard about it
    slow     the same with a shorter wait (answers that are slow but inside the timeout)
    off      back to normal

A fault applies to the /cgi-bin/ paths ending in one of `paths` (default: every path) and lasts
`for_seconds` (default: until switched off). Tests flip it on the `Faults` object; from outside,
`POST /sandbox/faults {"mode": "busy", "paths": ["kf/send_msg"], "for_seconds": 300}` and
`GET /sandbox/faults`. `python -m bot.fakefaults --port 9090` runs the fake alone for replays.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field

from aiohttp import web

MODES = ("off", "busy", "http5xx", "hang", "slow")


@dataclass
class Fault:
    mode: str = "off"
    paths: list[str] = field(default_factory=list)  # empty: every path
    seconds: float = 0.0  # the wait of hang / slow
    status: int = 503  # the HTTP status of http5xx
    until: float | None = None  # time.time() when it ends by itself
    hits: int = 0  # calls it answered

    def applies(self, path: str, now: float) -> bool:
        if self.mode == "off" or (self.until is not None and now >= self.until):
            return False
        return not self.paths or any(path == p.strip("/") or path.endswith("/" + p.strip("/")) for p in self.paths)


class Faults:
    def __init__(self) -> None:
        self.current = Fault()
        self.hits = 0  # calls any fault answered since the start

    def set(self, mode: str, *, paths=(), seconds: float = 0.0, status: int = 503,
            for_seconds: float | None = None) -> Fault:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if mode in ("hang", "slow") and seconds <= 0:
            raise ValueError(f"{mode} needs seconds > 0")
        if not 500 <= int(status) <= 599:
            raise ValueError("status must be 5xx")
        self.current = Fault(mode, [str(p) for p in paths], float(seconds), int(status),
                             time.time() + for_seconds if for_seconds else None)
        return self.current

    def off(self) -> None:
        self.set("off")


FAULTS_KEY = web.AppKey("fakefaults", Faults)


def install(app: web.Application, fake) -> Faults:
    """Add the fault middleware and the control endpoint to a fake WeCom app (before it starts)."""
    faults = Faults()
    app[FAULTS_KEY] = faults

    @web.middleware
    async def inject(request: web.Request, handler):
        path = request.match_info.get("path")  # only the /cgi-bin/{path} route has one
        fault = faults.current
        if path is None or not fault.applies(path.strip("/"), time.time()):
            return await handler(request)
        path = path.strip("/")
        fault.hits += 1
        faults.hits += 1
        if fault.mode in ("hang", "slow"):
            await request.read()  # the request arrived whole; the answer is what is late

            async def late():
                await asyncio.sleep(fault.seconds)
                return await handler(request)
            # Shielded: a client that gave up (and closed the connection) does not undo the call.
            return await asyncio.shield(asyncio.ensure_future(late()))
        from bot.fakewecom import Call  # the call is recorded, like every other, with what it got
        call = Call(path, dict(request.query), None, fake.now())
        fake.calls.append(call)
        if fault.mode == "busy":
            call.errcode = -1
            return web.json_response({"errcode": -1, "errmsg": "system busy (fault injected)"})
        call.errcode = f"http{fault.status}"
        return web.Response(status=fault.status, text=f"{fault.status} fault injected")

    async def control(request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                data = await request.json()
                faults.set(str(data.get("mode", "off")), paths=data.get("paths") or (),
                           seconds=float(data.get("seconds") or 0), status=int(data.get("status") or 503),
                           for_seconds=float(data["for_seconds"]) if data.get("for_seconds") else None)
            except (ValueError, TypeError, AttributeError) as exc:
                return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(faults.current))

    app.middlewares.append(inject)
    app.router.add_route("*", "/sandbox/faults", control)
    return faults


def main(argv: list[str] | None = None) -> None:
    from bot.fakewecom import create_fake_app
    p = argparse.ArgumentParser(description="run the fake WeCom API (with fault modes) on its own")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9090)
    args = p.parse_args(argv)
    print(json.dumps({"api_base": f"http://{args.host}:{args.port}"}), flush=True)
    web.run_app(create_fake_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
