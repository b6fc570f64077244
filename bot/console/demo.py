"""The demo's console: the fake WeCom's sign-in picker lists the configured staff, so signing in
locally works as any of them (the demo activity itself comes from handlers/demo_data)."""
from __future__ import annotations

from aiohttp import web

from bot.appkeys import CONFIG
from bot.config import Config


def setup(app: web.Application) -> None:
    if app[CONFIG].demo:
        app.on_startup.append(_fill_directory)


async def _fill_directory(app: web.Application) -> None:
    from bot.fakewecom import FAKE_KEY, oauth_of
    config = app[CONFIG]
    for resource in app.router.resources():
        sub = resource.get_info().get("app")
        if isinstance(sub, web.Application) and FAKE_KEY in sub:
            oauth_of(sub[FAKE_KEY]).directory.update(directory(config))


def directory(config: Config) -> dict[str, str]:
    """userid -> what the picker shows: role and stores."""
    out: dict[str, str] = {}
    names = {s.id: s.name or s.id for s in config.stores}
    for uid in (*config.roles.admins, *config.roles.buyers, *config.roles.guides,
                *(g for s in config.stores for g in s.guides)):
        role = config.role_of(uid)
        where = "、".join(names[s.id] for s in config.stores if uid in s.guides)
        out.setdefault(uid, f"{role} {where}".strip())
    return out
