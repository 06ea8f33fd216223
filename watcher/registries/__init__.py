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
from collections.abc import Mapping
from typing import assert_never
from urllib.parse import urlsplit

import httpx

from watcher.errors import (
    AmbiguousPackage,
    PackageNotFound,
    RegistryError,
    RegistryUnavailable,
    UsageError,
)
from watcher.httpclient import HttpClient
from watcher.models import Ecosystem
from watcher.registries.base import NotModified, Registry, Validators, VersionList
from watcher.registries.npm import PUBLIC_NPM_REGISTRY, NpmRegistry
from watcher.registries.pypi import PUBLIC_PYPI, PypiRegistry, is_valid_pypi_name
from watcher.registries.wire import display_url, normalize_repository_url, shown

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
    """The client for `ecosystem`, on `registry_url` if given (with its token) else public.

    A `registry_url` that does not parse as an http(s) URL is a `UsageError`.
    """
    if registry_url:
        _check_url(registry_url)
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


def _check_url(registry_url: str) -> None:
    """Refuse a registry URL httpx or urllib cannot parse, before anything else uses it."""
    try:
        url = httpx.URL(registry_url)
        urlsplit(registry_url).port  # noqa: B018 - parsing the port is the check
    except (httpx.InvalidURL, ValueError) as e:
        # Not echoed: a URL that does not parse cannot have its password hidden.
        raise UsageError(
            "the registry URL does not parse; expected e.g. https://registry.example/"
        ) from e
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"the registry URL must be http(s)://host/..., got {display_url(url)}")


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
        raise AmbiguousPackage(f"'{shown(name)}' exists on npm and PyPI; pass --ecosystem npm|pypi")
    if wrong_role is not None:
        raise wrong_role
    where = f" on {display_url(registry_url)}" if registry_url else ""
    raise PackageNotFound(f"package '{shown(name)}' not found on npm or PyPI{where}")


#: Set to "off" to skip the public-registry lookup for privately sourced packages (offline
#: installs and tests); anything else leaves the dependency-confusion check on.
PUBLIC_CHECK_ENV = "WATCHER_PUBLIC_REGISTRY_CHECK"


def public_counterpart(
    ecosystem: Ecosystem,
    http: HttpClient,
    registry_url: str | None,
    env: Mapping[str, str] | None = None,
) -> Registry | None:
    """The public registry to compare a private one with (dependency confusion), or None.

    None when no private registry is in use, when `registry_url` is the public one, or when
    the check is switched off. No token is attached: the public registry never sees it.
    """
    env = os.environ if env is None else env
    if not registry_url or env.get(PUBLIC_CHECK_ENV, "").strip().lower() == "off":
        return None
    public = PUBLIC_NPM_REGISTRY if ecosystem is Ecosystem.NPM else PUBLIC_PYPI
    if registry_url.rstrip("/") == public.rstrip("/"):
        return None
    return open_registry(ecosystem, http)
