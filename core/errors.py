"""One error hierarchy. Every message names the reference and the store, never a value."""

from __future__ import annotations

from contextlib import ContextDecorator
from types import TracebackType


class SecretBridgeError(Exception):
    """Base of every error secretbridge raises on purpose.

    ``ref`` is the reference as the user wrote it (or the logical name), ``store`` the
    configured store's name. Both are safe to show: they name a secret, never hold it.
    """

    def __init__(self, message: str, *, ref: str | None = None, store: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref
        self.store = store

    def __str__(self) -> str:
        where = [
            f"{label} {value!r}"
            for label, value in (("ref", self.ref), ("store", self.store))
            if value
        ]
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword-only context through pickling (multiprocessing, Dagster step workers).
        return (_rebuild, (type(self), self.message, self.ref, self.store))


def _rebuild(
    cls: type[SecretBridgeError], message: str, ref: str | None, store: str | None
) -> SecretBridgeError:
    error = cls.__new__(cls)
    SecretBridgeError.__init__(error, message, ref=ref, store=store)
    return error


class InvalidReference(SecretBridgeError, ValueError):
    """A reference or logical name is malformed; the message says where and what was expected."""


class ConfigError(SecretBridgeError):
    """The configuration is invalid; the message names the key and the problem."""


class MissingDependency(ConfigError, ImportError):
    """A store needs an optional SDK that is not installed; the message gives the install hint."""


class SecretNotFound(SecretBridgeError, LookupError):
    """No store in the chain (or the named store) holds the secret, version or field."""


class StoreUnavailable(SecretBridgeError):
    """The store could not be reached or failed; the cause is chained."""


class AccessDenied(SecretBridgeError):
    """A policy or the store itself refused access."""


class ReadOnlyStore(SecretBridgeError):
    """A write was asked of a store that cannot be written."""


class InvalidSecretValue(SecretBridgeError, ValueError):
    """A value has the wrong shape for its use (not JSON, not a connection); the message
    says what was expected, never what the value was."""


class unchained(ContextDecorator):  # lower case: used like contextlib.suppress
    """Drop the chain of a :class:`SecretBridgeError` leaving the block or function.

    ``raise X from None`` inside an ``except`` block hides the handled error from the
    traceback but still keeps it as ``X.__context__``, and that error may hold the value
    (a ``JSONDecodeError`` keeps the whole document in ``.doc``, urllib quotes the URI,
    ``UnicodeDecodeError`` keeps the bytes). A class, not ``@contextmanager``: it wraps
    hot paths (``Secret.reveal``) and costs a fraction of a generator.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, SecretBridgeError):
            error.__cause__ = error.__context__ = None


class AuditError(ConfigError):
    """The audit log could not be written. The call was refused (fail closed); for a write
    that reached its store first, the message says that the write was committed."""
