"""A small base for wire-level stand-ins of vendor APIs (Azure Key Vault, GCP Secret
Manager, the Kubernetes API): a threaded HTTP/1.1 server on 127.0.0.1, optionally
HTTPS with a CA generated at start, a request log for counting calls, and faults that
tests (or ``POST /__faults__``) inject on demand: latency, a status (429, 500, ...)
with an optional Retry-After, or a dropped connection.

They exist for tests and local development only: they speak enough of each API for
the real SDK clients to run unchanged, and nothing more.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .service import LOOPBACK, Service


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    target: str = ""  # the request line's target: path and query as sent

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        self.headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode()


Handler = Callable[..., Response]


@dataclass
class Fault:
    kind: str  # "latency", "status" or "drop"
    count: int = 1
    status: int = 500
    delay: float = 0.0
    retry_after: float | None = None
    path: str = ""  # only requests whose path contains this


class FaultPlan:
    """Faults to apply to the next matching requests, first in first out."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, kind: str, **options: Any) -> None:
        if kind not in ("latency", "status", "drop"):
            raise ValueError(f"unknown fault {kind!r}; expected latency, status or drop")
        with self._lock:
            self._faults.append(Fault(kind, **options))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in path:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class StandIn(Service):
    """Subclasses register routes with :meth:`route` in ``__init__``."""

    tls: bool = False

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.faults = FaultPlan()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request served
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca: CertificateAuthority | None = None

    # -- routing

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a regex on the path; named groups become keyword arguments."""
        self._routes.append((method, re.compile(pattern + r"\Z"), handler))

    def dispatch(self, request: Request) -> Response:
        if request.path == "/__faults__" and request.method == "POST":
            document = request.json() or {}
            self.faults.inject(document.pop("kind"), **document)
            return Response(204)
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match:
                allowed = True
                if method == request.method:
                    return handler(request, **match.groupdict())
        return self.not_found(request, allowed)

    def fault_key(self, request: Request) -> str:
        """What faults match and the request log records: the path, by default."""
        return request.path

    def fault_response(self, fault: Fault) -> Response:
        """The answer to a ``status`` fault, in the API's error shape."""
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        body = {"error": {"code": fault.status, "message": "injected fault"}}
        return Response(fault.status, body, headers)

    def not_found(self, request: Request, method_mismatch: bool) -> Response:
        status = 405 if method_mismatch else 404
        return Response(status, {"error": {"code": status, "message": f"no route {request.path}"}})

    # -- lifecycle

    @property
    def port(self) -> int:
        assert self._server is not None, f"{self.name} is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        server.daemon_threads = True
        if self.tls:
            self.ca = CertificateAuthority(self.workdir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca.server_cert, self.ca.server_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def count(self, method: str | None = None, path_contains: str = "") -> int:
        """How many requests were served (optionally of one method / path)."""
        return sum(
            1
            for m, p in list(self.requests)
            if (method is None or m == method) and path_contains in p
        )


def _handler_for(app: StandIn) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: SDK clients reuse connections
        disable_nagle_algorithm = True  # else each small response waits ~40 ms

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                target=self.path,
            )
            key = app.fault_key(request)
            app.requests.append((request.method, key))
            fault = app.faults.take(key) if request.path != "/__faults__" else None
            if fault is not None:
                if fault.kind == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault.kind == "latency":
                    time.sleep(fault.delay)
                elif fault.kind == "status":
                    self._send(app.fault_response(fault))
                    return
            try:
                response = app.dispatch(request)
            except Exception as error:  # a stand-in bug: answer 500, say what
                response = Response(500, {"error": {"code": 500, "message": repr(error)}})
            self._send(response)

        def _send(self, response: Response) -> None:
            payload = response.encode()
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read app.requests instead

    return _Handler


class CertificateAuthority:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost, as PEM files
    in ``folder`` (ca.pem, server.pem, server-key.pem), made with cryptography."""

    def __init__(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "secretbridge dev_env CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_cert = folder / "ca.pem"
        self.server_cert = folder / "server.pem"
        self.server_key = folder / "server-key.pem"
        self.ca_cert.write_bytes(ca_cert.public_bytes(pem))
        self.server_cert.write_bytes(cert.public_bytes(pem))
        self.server_key.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        self.server_key.chmod(0o600)
