"""secretbridge: name a secret in Airflow or Dagster, never hold its value.

from secretbridge import Resolver
resolver = Resolver.from_config()
password = resolver.get("secret:connections/warehouse#password").reveal()
"""

from __future__ import annotations

from .errors import (
    AccessDenied,
    AuditError,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    MissingDependency,
    ReadOnlyStore,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
)
from .factory import close_shared_resolvers, shared_resolver
from .naming import NamingRule, Selection
from .refs import Reference, format_reference, parse_reference
from .resolver import AuditEvent, Listing, Location, Policy, Resolver
from .values import Connection, Secret

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AuditError",
    "AuditEvent",
    "ConfigError",
    "Connection",
    "InvalidReference",
    "InvalidSecretValue",
    "Listing",
    "Location",
    "MissingDependency",
    "NamingRule",
    "Policy",
    "ReadOnlyStore",
    "Reference",
    "Resolver",
    "Secret",
    "SecretBridgeError",
    "SecretNotFound",
    "Selection",
    "StoreUnavailable",
    "close_shared_resolvers",
    "format_reference",
    "parse_reference",
    "shared_resolver",
]
