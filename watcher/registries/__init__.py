"""Registry clients: which versions a package has, and what each release is made of.

`open_registry(ecosystem, http, registry_url)` returns the client for an ecosystem, on the
public registry or on a private one. `resolve_ecosystem(...)` works out the ecosystem of a bare
package name for the CLI.

Credentials for private registries come from the environment, never from subscription files:

- `NPM_TOKEN`: sent as `Authorization: Bearer <token>` to the host of an npm `registry_url`;
- `PYPI_TOKEN`: the same for a PyPI `registry_url`.

A token is attached to that one host only (see `HttpClient.add_token`), so it never travels
to a tarball CDN or a redirect target, and never to the public registries. Registries that
want basic auth can instead be given as `https://user:password@host/…`: httpx sends the
userinfo as basic auth, and messages print the URL without it.
"""

from __future__ import annotations

import os
from typing import assert_never

from watcher.errors import (
    AmbiguousPackage,
    PackageNotFound,
    RegistryError,
    RegistryUnavailable,
)
from watcher.httpclient import HttpClient
from watcher.models import Ecosystem
from watcher.registries.base import NotModified, Registry, Validators, VersionList
from watcher.registries.npm import PUBLIC_NPM_REGISTRY, NpmRegistry
from watcher.registries.pypi import PUBLIC_PYPI, PypiRegistry, is_valid_pypi_name
from watcher.registries.wire import display_url, normalize_repository_url

__all__ = [
    "PUBLIC_NPM_REGISTRY",
    "PUBLIC_PYPI",
    "NotModified",
    "NpmRegistry",
    "PypiRegistry",
    "Registry",
    "Validators",
    "VersionList",
    "is_valid_pypi_name",
    "normalize_repository_url",
    "open_registry",
    "resolve_ecosystem",
]

#: Environment variable holding the token for a private registry of each ecosystem.
TOKEN_ENV = {Ecosystem.NPM: "NPM_TOKEN", Ecosystem.PYPI: "PYPI_TOKEN"}


def open_registry(
    ecosystem: Ecosystem, http: HttpClient, registry_url: str | None = None
) -> Registry:
    """The client for `ecosystem`, on `registry_url` if given (with its token) else public."""
    if registry_url:
        token = os.environ.get(TOKEN_ENV[ecosystem], "").strip()
        if token:
            http.add_token(registry_url, token)
    match ecosystem:
        case Ecosystem.NPM:
            return NpmRegistry(http, registry_url or PUBLIC_NPM_REGISTRY)
        case Ecosystem.PYPI:
            return PypiRegistry(http, registry_url or PUBLIC_PYPI)
        case _:
            assert_never(ecosystem)


def resolve_ecosystem(
    name: str, ecosystem: Ecosystem | None, http: HttpClient, registry_url: str | None
) -> Ecosystem:
    """The ecosystem `name` belongs to: explicit choice, name syntax, else ask the registries.

    `@scope/x` and names PyPI cannot hold are npm. Otherwise both registries are asked (the
    given URL in both roles when `registry_url` is set): one has it → that one; both →
    AmbiguousPackage; neither → PackageNotFound.
    """
    if ecosystem is not None:
        return ecosystem
    if name.startswith("@") or not is_valid_pypi_name(name):
        return Ecosystem.NPM
    found: list[Ecosystem] = []
    wrong_role: RegistryError | None = None
    for candidate in (Ecosystem.NPM, Ecosystem.PYPI):
        registry = open_registry(candidate, http, registry_url)
        try:
            registry.package(name)
        # Absent there: the other ecosystem may have it.
        except PackageNotFound:
            continue
        # A private URL is probed in both roles, and the wrong kind of server answers with
        # HTML, 401 or 405 rather than 404: that means "not this ecosystem", unless neither
        # role finds the name (then the error is the better message). An outage is not an
        # answer, so RegistryUnavailable always propagates.
        except RegistryError as e:
            if registry_url is None or isinstance(e, RegistryUnavailable):
                raise
            wrong_role = wrong_role or e
            continue
        found.append(candidate)
    if len(found) == 1:
        return found[0]
    if found:
        raise AmbiguousPackage(f"'{name}' exists on npm and PyPI; pass --ecosystem npm|pypi")
    if wrong_role is not None:
        raise wrong_role
    where = f" on {display_url(registry_url)}" if registry_url else ""
    raise PackageNotFound(f"package '{name}' not found on npm or PyPI{where}")
