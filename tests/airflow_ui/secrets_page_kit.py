"""What the Secrets page's tests share (a module of its own: test modules import it,
never ``conftest``): the canaries and the api-server handle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Values planted in the store (and one typed into Airflow's DB): none may leave it.
CANARIES = {
    "password": "cnry-ui-password-5f0b",  # warehouse's password (JSON connection)
    "login": "cnry-ui-login-91ce",  # variables/wh_login, referenced as warehouse's login
    "variable": "cnry-ui-variable-27aa",  # variables/batch_size
    "uri": "cnry-ui-uri-pw-c3d8",  # the password inside connections/api_http's URI
}
DB_LITERAL = "cnry-ui-db-literal-7d15"  # a password typed into Airflow's DB as a literal
MALFORMED = "secret:oops cnry-ui-malformed-40e2"  # starts like a reference, does not parse

USERS = "admin:admin,viewer:viewer"


@dataclass
class Airflow:
    """The api-server under test and what a test needs to talk to it."""

    home: Path
    env: dict[str, str]
    url: str
    config: Path
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)  # every response body seen

    def passwords(self) -> dict[str, str]:
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return dict(json.loads(path.read_text()))

    def token(self, user: str) -> str:
        if user not in self.tokens:
            body = {"username": user, "password": self.passwords()[user]}
            status, text = self.request("POST", "/auth/token", body=body)
            assert status == 201, f"token for {user}: HTTP {status}"
            self.tokens[user] = json.loads(text)["access_token"]
        return self.tokens[user]

    def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        body: Any = None,
        token: str | None = None,
    ) -> tuple[int, str]:
        """``user``'s token, else ``token`` as given, else anonymous."""
        headers = {"Accept": "application/json"}
        if user is not None:
            token = self.token(user)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - loopback
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        self.bodies.append(text)
        return status, text

    def get_json(self, path: str, *, user: str = "admin") -> Any:
        status, text = self.request("GET", path, user=user)
        assert status == 200, f"GET {path} as {user}: HTTP {status}: {text[:300]}"
        return json.loads(text)
