"""HTML that escapes by default: a value is escaped unless it is :class:`Safe` (markup this module built).

``render("<a href='{href}'>{text}</a>", href=..., text=...)`` escapes every argument that is not Safe, so
a variable value, an error message or a process name can never become markup. The page frame and the
small building blocks (tables, links, buttons) live here too.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["Safe", "esc", "join", "link", "page", "render", "table", "url"]


class Safe(str):
    """Markup built by this module; inserted as is."""

    __slots__ = ()


def esc(value: Any) -> Safe:
    """``value`` as text in HTML (attributes included); Safe values pass through."""
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values: Any) -> Safe:
    """``template`` (``{name}`` placeholders, literal braces doubled) with each value escaped."""
    return Safe(template.format(**{name: esc(value) for name, value in values.items()}))


def join(parts: Iterable[Any], separator: str = "") -> Safe:
    return Safe(separator.join(esc(part) for part in parts))


def url(path: str, **query: Any) -> str:
    """``path`` with the query parameters that are not empty."""
    kept = {name: str(value) for name, value in query.items() if value not in (None, "")}
    return f"{quote(path)}?{urlencode(kept)}" if kept else quote(path)


def link(href: str, text: Any, *, css: str = "") -> Safe:
    if css:
        return render('<a class="{css}" href="{href}">{text}</a>', css=css, href=href, text=text)
    return render('<a href="{href}">{text}</a>', href=href, text=text)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str = "none", css: str = "") -> Safe:
    """A table; each cell is escaped unless Safe."""
    body = [Safe("<tr>" + "".join(render("<td>{cell}</td>", cell=cell) for cell in row) + "</tr>") for row in rows]
    if not body:
        return render('<p class="empty">{empty}</p>', empty=empty)
    head = "".join(render("<th>{h}</th>", h=h) for h in headers)
    return Safe(f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


_NAV = (("/", "Processes"), ("/ui/instances", "Instances"), ("/ui/incidents", "Incidents"), ("/ui/tasks", "User tasks"))

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header a.here{color:#fff;font-weight:600}
header .brand{font-weight:700;color:#fff}
main{padding:1em 1.5em;max-width:1400px}
h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .5em}
table{border-collapse:collapse;background:#fff;margin:.3em 0 1em;min-width:40%}
th,td{border:1px solid #dde1e6;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td pre{margin:0;white-space:pre-wrap;word-break:break-all;max-width:60em}
.error{background:#fde8e8;border:1px solid #e0a1a1;color:#8a1c1c;padding:.6em 1em;margin:.5em 0}
.notice{background:#e7f5ea;border:1px solid #9fd1aa;color:#17502a;padding:.6em 1em;margin:.5em 0}
.empty{color:#68727d;font-style:italic}
.badge{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:.85em;background:#e3e7eb}
.badge.ACTIVE{background:#d9ecff}.badge.COMPLETED{background:#dff3e3}.badge.TERMINATED{background:#eee}
.badge.INCIDENT{background:#fbd5d5;color:#8a1c1c}
form.inline{display:inline}form.box{background:#fff;border:1px solid #dde1e6;padding:.7em 1em;margin:.5em 0}
form.box label{display:block;margin:.3em 0}form.filters label{display:inline-block;margin-right:1.2em}
input,select,textarea,button{font:inherit}textarea{width:100%;max-width:40em}
.diagram{background:#fff;border:1px solid #dde1e6;overflow:auto;padding:.5em;margin-bottom:1em}
.cols{display:flex;gap:2em;flex-wrap:wrap}
"""


def page(title: str, body: Safe, *, here: str = "", error: str = "", notice: str = "") -> Safe:
    """A whole page: the navigation, an error or notice banner, then ``body``."""
    nav = join(link(href, text, css="here" if href == here else "") for href, text in _NAV)
    banner = render('<div class="error" role="alert">{e}</div>', e=error) if error else Safe("")
    if notice:
        banner = Safe(banner + render('<div class="notice" role="status">{n}</div>', n=notice))
    return render(
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"><title>{title} · zeebe-celery engine</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>{style}</style>"
        '<script src="/ui/static/htmx.min.js"></script></head>'
        '<body><header><span class="brand">zeebe-celery engine</span>{nav}</header>'
        "<main><h1>{title}</h1>{banner}{body}</main></body></html>",
        title=title,
        style=Safe(_STYLE),
        nav=nav,
        banner=banner,
        body=body,
    )
