"""The console's HTML environment: templates/console/, autoescaped (every shopper's word is data),
with the chat templates' filters, times shown in the config's `[bot] timezone`."""
from __future__ import annotations

import json
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.render import TEMPLATES, for_timezone, yuan


def _chart_json(obj) -> Markup:
    """Data for a chart's <script type="application/json">: '<' escaped so no text closes the tag."""
    return Markup(json.dumps(obj, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


@lru_cache(maxsize=8)
def environment(timezone: str) -> Environment:
    clocks = for_timezone(timezone)
    env = Environment(loader=FileSystemLoader(str(TEMPLATES / "console")), undefined=StrictUndefined,
                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(yuan=yuan, clock=clocks.clock, day=clocks.day, chart_json=_chart_json)
    return env


def render_page(template: str, context: dict, timezone: str) -> str:
    return environment(timezone).get_template(template).render(**context)
