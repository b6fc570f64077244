"""The console's HTML environment: templates/console/, autoescaped (every shopper's word is data),
with the same filters as the chat templates."""
from __future__ import annotations

import json

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.render import TEMPLATES, clock, day, yuan

env = Environment(loader=FileSystemLoader(str(TEMPLATES / "console")), undefined=StrictUndefined,
                  autoescape=True, trim_blocks=True, lstrip_blocks=True)
env.filters.update(yuan=yuan, clock=clock, day=day)


def _chart_json(obj) -> Markup:
    """Data for a chart's <script type="application/json">: '<' escaped so no text closes the tag."""
    return Markup(json.dumps(obj, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


env.filters["chart_json"] = _chart_json


def render_page(template: str, context: dict) -> str:
    return env.get_template(template).render(**context)
