"""Web API calls and response-URL posts over kept-alive connections.

slack_sdk's WebClient and WebhookClient open a new connection (and, to Slack, a new TLS
session) for every call and close it after the answer. Each listener thread here keeps one
connection per host open instead and reuses it for the next call. Only the transport changes:
slack_sdk still builds the request, and its retry handlers still see the same answers and
errors (an HTTP error status is raised as urllib's HTTPError, as urlopen would). A
connection the server has closed while idle is noticed before it is used; a failed connect or
send raises URLError and an answer cut off raises what urllib would (ConnectionResetError,
RemoteDisconnected): the connection-error retry handler retries all of them.

A proxy (the client's own, or one from the environment) leaves the call to slack_sdk's
urllib path, which knows how to speak through it.

This is the one module that reaches into slack_sdk's private transport: it overrides
`WebClient._perform_urllib_http_request_internal(url, req)` and
`WebhookClient._perform_http_request_internal(url, req)`, which slack_sdk 3.48 (the minor
version pyproject.toml pins) calls for every request. At import it checks that both exist with
that signature; where one does not, its override is removed, so that client keeps slack_sdk's
own transport (a connection per call), and a warning says so.
"""

from __future__ import annotations

import http.client
import inspect
import io
import logging
import select
import ssl
import threading
import urllib.request
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk import version as slack_sdk_version
from slack_sdk.webhook import WebhookClient, WebhookResponse

log = logging.getLogger(__name__)

_local = threading.local()


def _pool() -> dict[tuple[str, str, int, int | None], http.client.HTTPConnection]:
    connections = getattr(_local, "connections", None)
    if connections is None:
        connections = _local.connections = {}
    return connections


@lru_cache(maxsize=1)
def _default_tls() -> ssl.SSLContext:
    """What urllib uses without a context; built once (it loads the CA certificates)."""
    return ssl.create_default_context()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """True when the server has closed the idle connection (or sent something unasked)."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@lru_cache(maxsize=64)
def _uses_proxy(scheme: str, host: str) -> bool:
    """Whether the environment routes this host through a proxy (read once per host: urllib
    scans the whole environment for it on every call)."""
    proxies = urllib.request.getproxies()
    return scheme in proxies and not urllib.request.proxy_bypass(host)


class _Answer(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _exchange(
    url: str, req: urllib.request.Request, *, timeout: int, tls: Any, proxy: str | None
) -> _Answer | None:
    """Send `req` on this thread's open connection to its host (opening one if needed) and
    read the whole answer; None when urllib must send it (a proxy, or not HTTP). Raises
    HTTPError for an error status, as urlopen does."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if proxy is not None or scheme not in ("http", "https") or _uses_proxy(scheme, host):
        return None
    port = parts.port or (443 if scheme == "https" else 80)
    context = tls if isinstance(tls, ssl.SSLContext) else None
    key = (scheme, host, port, id(context) if context is not None else None)
    pool = _pool()
    connection = pool.pop(key, None)
    if connection is not None and _dropped(connection):
        connection.close()
        connection = None
    if connection is not None and connection.sock is not None:
        connection.sock.settimeout(timeout)
    if connection is None:
        connection = _connect(scheme, host, port, timeout, context)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            raise URLError(error) from error
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        try:
            connection.request(
                req.get_method(), path, body=req.data, headers=dict(req.header_items())
            )
        except OSError as error:
            # As urllib does: a request that could not be sent (a kept connection the server
            # closed just now: a broken pipe) is a URLError, which the retry handler retries.
            raise URLError(error) from error
        response = connection.getresponse()
        body = response.read()
    except BaseException:
        # Raised as urllib raises them (ConnectionResetError or RemoteDisconnected when the
        # answer is cut off); the connection is not reused.
        connection.close()
        raise
    if response.will_close:
        connection.close()
    else:
        pool[key] = connection
    if response.status >= 400:
        raise HTTPError(url, response.status, response.reason, response.msg, io.BytesIO(body))
    return _Answer(response.status, response.msg, body)


def _connect(
    scheme: str, host: str, port: int, timeout: int, context: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context or _default_tls()
        )
    return http.client.HTTPConnection(host, port, timeout=timeout)


class KeepAliveWebClient(WebClient):
    """A WebClient whose calls reuse this thread's open connection to the API host."""

    @classmethod
    def like(cls, client: WebClient) -> KeepAliveWebClient:
        """A kept-alive twin of `client` (Bolt builds a plain WebClient for every request):
        same token, API URL, timeout, TLS, proxy, headers, logger and retry handlers."""
        if isinstance(client, cls):
            return client
        return cls(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=client.headers,
            logger=client.logger,
            retry_handlers=client.retry_handlers,
        )

    def _perform_urllib_http_request_internal(
        self, url: str, req: urllib.request.Request
    ) -> dict[str, Any]:
        answer = _exchange(url, req, timeout=self.timeout, tls=self.ssl, proxy=self.proxy)
        if answer is None:
            return super()._perform_urllib_http_request_internal(url, req)
        if answer.headers.get_content_type() == "application/gzip":
            return {"status": answer.status, "headers": answer.headers, "body": answer.body}
        charset = answer.headers.get_content_charset() or "utf-8"
        text = answer.body.decode(charset)
        return {"status": answer.status, "headers": answer.headers, "body": text}


class KeepAliveWebhookClient(WebhookClient):
    """A WebhookClient (response URLs) whose posts reuse this thread's open connection."""

    def _perform_http_request_internal(
        self, url: str, req: urllib.request.Request
    ) -> WebhookResponse:
        answer = _exchange(url, req, timeout=self.timeout, tls=self.ssl, proxy=self.proxy)
        if answer is None:
            fallback: WebhookResponse = super()._perform_http_request_internal(url, req)
            return fallback
        charset = answer.headers.get_content_charset() or "utf-8"
        return WebhookResponse(
            url=url,
            status_code=answer.status,
            body=answer.body.decode(charset),
            headers=answer.headers,  # type: ignore[arg-type]
        )


def _overridable(base: type, name: str) -> bool:
    """Whether `base` has the private method `name(self, url, req)` this module overrides."""
    method = getattr(base, name, None)
    if not callable(method):
        return False
    try:
        parameters = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    return parameters == ["self", "url", "req"]


def _fence(client: type, base: type, name: str) -> bool:
    """Keep `client`'s override of `base.name` only where slack_sdk still has that method."""
    if _overridable(base, name):
        return True
    delattr(client, name)
    log.warning(
        "slack_sdk %s has no %s.%s(url, req): %s calls open a new connection each, as "
        "slack_sdk does (kept-alive connections need the slack_sdk minor version pinned in "
        "pyproject.toml)",
        slack_sdk_version.__version__,
        base.__name__,
        name,
        client.__name__,
    )
    return False


KEEPS_WEB_API_ALIVE = _fence(KeepAliveWebClient, WebClient, "_perform_urllib_http_request_internal")
KEEPS_RESPONSE_URLS_ALIVE = _fence(
    KeepAliveWebhookClient, WebhookClient, "_perform_http_request_internal"
)
"""Checked once, at import: whether each client's calls reuse this thread's connections."""
