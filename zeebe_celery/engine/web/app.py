"""The web UI's routes, served by the engine's inspection port at ``/`` and under ``/ui/``.

Pages are GETs; actions are form POSTs answered by a redirect to the page they came from (or that page
with the reason, when refused). With a token, a browser signs in once on ``/ui/login``: the token is kept
in an HttpOnly, SameSite=Strict cookie, checked as the port checks ``Authorization: Bearer``. A POST from
another origin is refused, and without a token only a loopback or IP-literal ``Host`` is served (a page
of another site cannot read the engine through DNS rebinding).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from urllib.parse import parse_qsl, urlencode

from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.web import actions
from zeebe_celery.engine.web.context import Page, Response, WebContext
from zeebe_celery.engine.web.html import Safe, page
from zeebe_celery.engine.web.instances import instance_fragment, instance_page, instances_page
from zeebe_celery.engine.web.pages import incidents_page, process_page, processes_page
from zeebe_celery.engine.web.tasks import task_page, tasks_page
from zeebe_celery.engine.web.values import parse_key

__all__ = ["COOKIE", "WebUI"]

logger = logging.getLogger(__name__)

COOKIE = "zeebe_celery_token"
_STATIC = {"htmx.min.js": "application/javascript; charset=utf-8"}
_INSTANCE_ACTIONS = {
    "variables": actions.set_variable,
    "retry": actions.retry,
    "cancel": actions.cancel,
    "modify": actions.modify,
}
_TASK_ACTIONS = {"assign": actions.assign_task, "complete": actions.complete_task}


def _query(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise Page(400, "the query string is malformed") from None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise Page(400, f"{name} is given twice")
        found[name] = value
    return found


def _parts(path: str) -> list[str]:
    return [p for p in path.removeprefix("/ui").split("/") if p]


def _key(text: str) -> int:
    try:
        return parse_key(text)
    except ValueError as exc:
        raise Page(400, str(exc)) from None


def _login_page(error: str = "") -> Safe:
    body = Safe(
        '<form class="box" method="post" action="/ui/login"><p>This engine wants its token.</p>'
        '<label>Token <input type="password" name="token" autocomplete="current-password" required></label>'
        '<button type="submit">Sign in</button></form>'
    )
    return page("Sign in", body, error=error)


class WebUI:
    """Answers the UI's requests; ``history``: the engine's shared read side (made on first use)."""

    def __init__(self, runtime: Runtime, history: Callable[[], History], *, token: str | None = None) -> None:
        self.ctx = WebContext(runtime, history)
        self._token = token

    @staticmethod
    def serves(path: str) -> bool:
        return path == "/" or path == "/ui" or path.startswith("/ui/")

    # -- the door ------------------------------------------------------------------------------------

    def authorized(self, headers: Mapping[str, str]) -> bool:
        if self._token is None:
            return True
        expected = self._token.encode()
        bearer = headers.get("Authorization", "")
        if hmac.compare_digest(bearer.encode(), b"Bearer " + expected):
            return True
        try:
            cookie = SimpleCookie(headers.get("Cookie", ""))
        except CookieError:
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), expected)

    def _host_allowed(self, host: str) -> bool:
        if self._token is not None:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.strip("[]")
        if name == "localhost":
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        """The answer to one request of the UI; never raises."""
        if not self._host_allowed(headers.get("Host", "")):
            return Response.html(page("Refused", Safe(""), error="this engine answers only its address"), 421)
        try:
            if path.startswith("/ui/static/"):
                return self._static(path.removeprefix("/ui/static/"))
            if path == "/ui/login":
                return self._login(method, body)
            if not self.authorized(headers):
                return Response.html(_login_page(), 401)
            if method == "POST":
                return self._post(path, headers, body)
            return self._get(path, _query(query))
        except Page as exc:
            return Response.html(
                page("Not found" if exc.status == 404 else "Error", Safe(""), error=exc.message), exc.status
            )
        except Exception:
            logger.exception("The web UI failed to answer %s %s", method, path)
            message = "the engine failed to render this page; its log has the details"
            return Response.html(page("Error", Safe(""), error=message), 500)

    def _static(self, name: str) -> Response:
        if name not in _STATIC:
            raise Page(404, f"no such file {name[:80]}")
        data = resources.files("zeebe_celery.engine.web").joinpath("static", name).read_bytes()
        return Response(200, data, _STATIC[name], {"Cache-Control": "max-age=86400"})

    def _login(self, method: str, body: bytes) -> Response:
        if method != "POST" or self._token is None:
            return Response.redirect("/") if self._token is None else Response.html(_login_page())
        token = _query(body.decode("utf-8", "replace")).get("token", "")
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return Response.html(_login_page("that is not this engine's token"), 401)
        cookie = f"{COOKIE}={self._token}; HttpOnly; SameSite=Strict; Path=/"
        return Response(303, b"", headers={"Location": "/", "Set-Cookie": cookie})

    # -- pages ---------------------------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, str]) -> Response:
        parts = _parts(path)
        ctx = self.ctx
        if parts in ([], ["processes"]):
            return Response.html(processes_page(ctx))
        if len(parts) == 2 and parts[0] == "processes":
            return Response.html(process_page(ctx, _key(parts[1])))
        if parts == ["instances"]:
            status, markup = instances_page(ctx, query)
            return Response.html(markup, status)
        if len(parts) == 2 and parts[0] == "instances":
            return Response.html(instance_page(ctx, _key(parts[1]), notice=query.get("done", "")))
        if len(parts) == 3 and parts[0] == "instances" and parts[2] == "live":
            fragment = instance_fragment(ctx, _key(parts[1]), query.get("since", ""))
            return Response(204, b"") if fragment is None else Response.html(fragment)
        if parts == ["incidents"]:
            return Response.html(incidents_page(ctx))
        if parts == ["tasks"]:
            return Response.html(tasks_page(ctx, notice=query.get("done", "")))
        if len(parts) == 2 and parts[0] == "tasks":
            return Response.html(task_page(ctx, _key(parts[1]), notice=query.get("done", "")))
        raise Page(404, f"no page {path[:100]}")

    # -- actions -------------------------------------------------------------------------------------

    def _post(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        origin = headers.get("Origin")
        if origin is not None and origin != f"http://{headers.get('Host', '')}":
            raise Page(403, "an action must come from this engine's own pages")
        if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise Page(403, "an action must come from this engine's own pages")
        form = _query(body.decode("utf-8", "replace"))
        parts = _parts(path)
        if len(parts) == 3 and parts[0] == "instances" and parts[2] in _INSTANCE_ACTIONS:
            key = _key(parts[1])
            try:
                done = _INSTANCE_ACTIONS[parts[2]](self.ctx, key, form)
            except Page as exc:
                return Response.html(instance_page(self.ctx, key, error=exc.message), exc.status)
            return Response.redirect(f"/ui/instances/{key}?{_done(done)}")
        if len(parts) == 3 and parts[0] == "tasks" and parts[2] in _TASK_ACTIONS:
            key = _key(parts[1])
            try:
                done = _TASK_ACTIONS[parts[2]](self.ctx, key, form)
            except Page as exc:
                if exc.status == 404:
                    return Response.html(tasks_page(self.ctx, error=exc.message), 404)
                return Response.html(task_page(self.ctx, key, error=exc.message), exc.status)
            if parts[2] == "complete":
                return Response.redirect(f"/ui/tasks?{_done(done)}")
            return Response.redirect(f"/ui/tasks/{key}?{_done(done)}")
        raise Page(404, f"no action {path[:100]}")


def _done(message: str) -> str:
    return urlencode({"done": message})
