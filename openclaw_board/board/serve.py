"""`serve`'s guard: the board in a browser, only for whoever holds the URL it printed.

textual-serve runs one board per websocket and types the browser's keys into it, with no
login of its own: another local user, or any web page the serving user visits, could open
the websocket, read the board and press `a` to approve a task. So, as Jupyter guards its
server:

- A random token (`secrets.token_urlsafe(32)`) is in the URL printed on the serving
  terminal, and nowhere else (the request log has it replaced by `<token>`).
- Every request (page, scripts, websocket, downloads) must carry it: `?token=` (the first
  page load, which sets an HttpOnly, SameSite=Strict cookie and redirects to the URL
  without it, so that it stays out of the address bar and Referer headers), that cookie
  (the page's scripts and its websocket), or `Authorization: token ...` (scripts).
  It is compared in constant time. Without it: 403.
- A request whose Origin is not this server (its host:port, under the names that reach
  it) is refused (403) even with the token: a browser always sends Origin on a websocket
  handshake, so a foreign page can never drive the board.
- Loopback (127.0.0.1) stays the default address (the `serve` command's).

textual-serve builds its aiohttp app in `Server._make_app`; this subclass adds one
middleware to that app (the library has no other hook before the app is frozen) and
replaces its banner and logging, and changes nothing else.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from rich.console import Console
from rich.logging import RichHandler
from textual_serve.server import Server

from ..safetext import visible

TOKEN_PARAM = "token"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
REFUSED = ("403: this board is served to whoever holds the URL `openclaw-board serve` printed "
           "(with its token), from this server's own pages.\n")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def _netloc(host: str, port: int, scheme: str = "http") -> str:
    host = host.strip("[]").lower()
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


def origin_of(url: str) -> str:
    """`scheme://host[:port]` as a browser writes it in the Origin header."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{_netloc(parts.hostname or '', port, scheme)}"


def served_origins(host: str, port: int, public_url: str) -> frozenset[str]:
    """The origins of this server's own pages: its public URL's, its address's, and, when it
    listens on loopback (or everywhere), the loopback names at the same port (an SSH tunnel
    to the same port, or `localhost` typed for `127.0.0.1`)."""
    origins = {origin_of(public_url)}
    if host not in WILDCARD_HOSTS:
        origins.add(f"http://{_netloc(host, port)}")
    if host in WILDCARD_HOSTS or is_loopback(host):
        origins |= {f"http://{_netloc(name, port)}" for name in ("127.0.0.1", "localhost", "::1")}
    return frozenset(origins)


class _SafeLine(logging.Filter):
    """Every log line on the serving terminal: the token replaced by `<token>` (the access
    log would show `/?token=...`), and the control characters of what a client sent (its
    request line, its User-Agent) made visible, never obeyed."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = visible(record.getMessage())
        if record.exc_info:  # a traceback is text from elsewhere too: shown the same way
            trace = logging.Formatter().formatException(record.exc_info)
            message += "\n" + visible(trace, multiline=True)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = message.replace(self.secret, "<token>"), ()
        return True


class GuardedServer(Server):
    """textual-serve's Server, refusing requests without the token or from a foreign Origin."""

    def __init__(self, command: str, *, host: str, port: int, public_url: str, title: str = "openclaw-board",
                 token: str | None = None) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url.rstrip("/"))
        self.token = token or secrets.token_urlsafe(32)
        self.origins = served_origins(host, port, self.public_url)
        self.cookie = f"openclaw-board-token-{port}"  # cookies are per host, not per port

    @property
    def url(self) -> str:
        """The one place the token is shown: the URL to open."""
        return f"{self.public_url}/?{urlencode({TOKEN_PARAM: self.token})}"

    # -- the checks ------------------------------------------------------------------------

    def _holds_token(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        offered = [request.query.get(TOKEN_PARAM), request.cookies.get(self.cookie),
                   auth[len("token "):] if auth.lower().startswith("token ") else None]
        expected = self.token.encode()
        return any(hmac.compare_digest(candidate.encode(), expected) for candidate in offered if candidate)

    def refusal(self, request: web.Request) -> str | None:
        """Why this request is refused, or None. A missing Origin is not foreign: browsers
        send it on every websocket handshake and cross-site request, and a script without a
        browser has no cookies to abuse (it still needs the token)."""
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in self.origins:
            return "foreign origin"
        if not self._holds_token(request):
            return "no token"
        return None

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            why = self.refusal(request)
            if why is not None:
                logging.getLogger("textual-serve").warning("refused %s %s: %s", request.method,
                                                           request.path, why)
                return web.Response(status=403, text=REFUSED)
            if TOKEN_PARAM in request.query and request.path == "/" and request.method == "GET":
                # The first load: remember the token in a cookie, then drop it from the URL.
                rest = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
                moved = web.HTTPSeeOther(location="/" + (f"?{urlencode(rest)}" if rest else ""))
                moved.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
                moved.headers["Referrer-Policy"] = "no-referrer"
                raise moved
            response = await handler(request)
            if not response.prepared:  # a websocket or a download has sent its headers already
                response.headers.setdefault("Referrer-Policy", "no-referrer")
                response.headers.setdefault("X-Frame-Options", "DENY")
            return response

        app.middlewares.append(guard)
        return app

    # -- what the serving terminal shows ---------------------------------------------------

    def initialize_logging(self) -> None:
        """As textual-serve's, but with plain tracebacks (Rich's show local variables: the
        token among them) and every line through `_SafeLine`."""
        handler = RichHandler(show_path=False, show_time=False, console=self.console)
        handler.addFilter(_SafeLine(self.token))
        logging.basicConfig(level="DEBUG" if self.debug else "INFO", format="%(message)s",
                            datefmt="[%X]", handlers=[handler], force=True)

    async def on_startup(self, app: web.Application) -> None:
        console: Console = self.console
        console.print(f"Serving the board in a browser: each tab runs {self.command}", markup=False,
                      highlight=False, soft_wrap=True)
        console.print("Open this URL (anyone who has it can act on the board):", markup=False, highlight=False)
        console.print(f"    {self.url}", markup=False, highlight=False, soft_wrap=True)
        console.print("Press Ctrl+C to stop.", markup=False, highlight=False)
