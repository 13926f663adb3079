"""A fault-injecting reverse proxy: put it between an SDK client and a real (or
stand-in) server to see the client's retries, timeouts and error handling at work.

Every request is forwarded to ``upstream`` with ``http.client`` (one connection per
request, the client's Host header and body passed on unchanged, so signatures stay
valid) unless the :class:`~dev_env.standin.FaultPlan` (``proxy.faults``, or ``POST
/__faults__``) has a fault for it:

- ``latency``: wait ``delay`` seconds, then forward;
- ``drop``: close the connection without answering;
- ``status``: answer ``status`` without forwarding, with the error body of the
  upstream's protocol. For ``style="aws-json"`` (Secrets Manager, SSM, STS's JSON
  services) that is ``{"__type": CODE, "message": ...}`` with the ``x-amzn-ErrorType``
  header, CODE from :attr:`FaultProxy.error_codes` (429 and 400 are
  ``ThrottlingException``, so botocore classifies them as throttling).

A fault's ``path`` matches the request path, and for AWS JSON protocols the
``X-Amz-Target`` header as well, after a ``#``: ``path="GetSecretValue"`` faults only
that operation. Requests are logged in ``proxy.requests`` (method, path#target), so
``proxy.count(path_contains="BatchGetSecretValue")`` counts what reached the wire.
"""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .service import LOOPBACK
from .standin import Fault, Request, Response, StandIn

#: hop-by-hop headers (RFC 9110 7.6.1): never forwarded
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class FaultProxy(StandIn):
    name = "faultproxy"

    #: status -> (error code, message) for ``style="aws-json"``
    error_codes: dict[int, tuple[str, str]] = {  # noqa: RUF012 - a class-level default
        400: ("ThrottlingException", "Rate exceeded"),
        429: ("ThrottlingException", "Rate exceeded"),
        500: ("InternalFailure", "The request processing has failed (injected)"),
        502: ("BadGateway", "Bad gateway (injected)"),
        503: ("ServiceUnavailable", "Service unavailable (injected)"),
        504: ("GatewayTimeout", "Gateway timeout (injected)"),
    }

    def __init__(
        self,
        workdir: Path,
        upstream: str,
        *,
        style: str = "aws-json",
        upstream_timeout: float = 30.0,
    ) -> None:
        super().__init__(workdir)
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream: expected an http(s) URL, got {upstream!r}")
        self.upstream = upstream
        self._upstream = parts
        self.style = style
        self.upstream_timeout = upstream_timeout

    # -- the pieces a handler uses

    def fault_response(self, fault: Fault) -> Response:
        """The answer for a ``status`` fault, in the upstream protocol's error shape."""
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if self.style == "aws-json":
            code, message = self.error_codes.get(
                fault.status, ("InternalFailure", f"HTTP {fault.status} (injected)")
            )
            headers.update(
                {
                    "Content-Type": "application/x-amz-json-1.1",
                    "x-amzn-ErrorType": code,
                    "x-amzn-RequestId": str(uuid.uuid4()),
                }
            )
            body = json.dumps({"__type": code, "message": message}).encode()
            return Response(fault.status, body, headers)
        return super().fault_response(fault)

    def fault_key(self, request: Request) -> str:
        target = request.headers.get("x-amz-target")
        return f"{request.path}#{target}" if target else request.path

    def dispatch(self, request: Request) -> Response:
        if request.path == "/__faults__":
            return super().dispatch(request)
        try:
            return self.forward(request.method, request.target, request.headers, request.body)
        except OSError as error:
            return Response(502, {"error": {"code": 502, "message": repr(error)}})

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Send the request upstream and return its answer (hop-by-hop headers dropped)."""
        parts = self._upstream
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or LOOPBACK,
                parts.port,
                timeout=self.upstream_timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or LOOPBACK, parts.port, timeout=self.upstream_timeout
            )
        try:
            outgoing = {
                k: v
                for k, v in headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            }
            connection.request(method, target, body=body or None, headers=outgoing)
            upstream = connection.getresponse()
            payload = upstream.read()
            back = {
                k: v
                for k, v in upstream.getheaders()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            }
            return Response(upstream.status, payload, back)
        finally:
            connection.close()

    def endpoints(self) -> dict[str, Any]:
        return {"url": self.url, "upstream": self.upstream}

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {}  # a test tool: tests point a store's endpoint at it themselves
