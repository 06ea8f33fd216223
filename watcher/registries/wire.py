"""What registries send over the wire, and the few helpers that read it.

Private to `watcher.registries`: pydantic models covering only the fields the clients read
(`extra="ignore"`, so registries may add anything), plus HTTP-status mapping, SRI decoding,
timestamps and repository-URL normalisation shared by the npm and PyPI clients. A response of
the wrong shape becomes `MalformedResponse`; nothing here leaks pydantic or httpx errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watcher.errors import MalformedResponse, RegistryError
from watcher.escape import logline
from watcher.httpclient import HttpClient
from watcher.registries.base import NotModified, Validators

ModelT = TypeVar("ModelT", bound=BaseModel)


class WireModel(BaseModel):
    """Base of every wire model: unknown keys ignored, instances immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- npm packument -------------------------------------------------------------------------
# The packument itself is validated shallowly (versions stay raw dicts) and each version is
# validated only when asked for: a single odd ten-year-old version must not make every other
# version of the package unreadable.


class NpmPackument(WireModel):
    """The top of an npm packument (`GET /<name>`)."""

    name: str | None = None
    dist_tags: dict[str, str] = Field(default_factory=dict, alias="dist-tags")
    versions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Values are ISO strings, except `time.unpublished`, which is an object: keep them raw.
    time: dict[str, Any] = Field(default_factory=dict)


class NpmTrustedPublisher(WireModel):
    """`_npmUser.trustedPublisher`: the OIDC identity that published (trusted publishing)."""

    id: str | None = None


class NpmUser(WireModel):
    """`_npmUser`: the account (or trusted publisher) that published one version."""

    name: str | None = None
    email: str | None = None
    trusted_publisher: NpmTrustedPublisher | None = Field(default=None, alias="trustedPublisher")


class NpmAttestations(WireModel):
    """`dist.attestations`: present on versions published with provenance."""

    url: str | None = None
    provenance: dict[str, Any] | None = None


class NpmDist(WireModel):
    """`dist` of one version: where the tarball is and how to verify it."""

    tarball: str
    integrity: str | None = None
    shasum: str | None = None
    unpacked_size: int | None = Field(default=None, alias="unpackedSize")
    attestations: NpmAttestations | None = None


class NpmVersion(WireModel):
    """One entry of `versions` in a packument."""

    dist: NpmDist
    # `repository` and `maintainers` come straight from authors' package.json files, so their
    # shapes vary wildly (strings, objects, arrays); they are interpreted leniently by the client.
    repository: Any = None
    maintainers: Any = None
    npm_user: NpmUser | None = Field(default=None, alias="_npmUser")
    # What the registry says the package declares: npm (>= 7) installs dependencies from
    # here and decides from `hasInstallScript` whether to run scripts, whatever the tarball's
    # own package.json says (manifest confusion). Loose shapes, read leniently.
    scripts: Any = None
    dependencies: Any = None
    optional_dependencies: Any = Field(default=None, alias="optionalDependencies")
    peer_dependencies: Any = Field(default=None, alias="peerDependencies")
    has_install_script: Any = Field(default=None, alias="hasInstallScript")
    # Whether the tarball ships npm-shrinkwrap.json (npm sets it at publish).
    has_shrinkwrap: Any = Field(default=None, alias="_hasShrinkwrap")


# --- PyPI (warehouse JSON API) -----------------------------------------------------------------


class PypiFile(WireModel):
    """One file of a release in the warehouse JSON API."""

    filename: str
    url: str
    packagetype: str | None = None
    digests: dict[str, str | None] = Field(default_factory=dict)
    size: int | None = None
    upload_time_iso_8601: datetime | None = None
    yanked: bool = False


class PypiInfo(WireModel):
    """`info` of a project or version document."""

    name: str | None = None
    version: str | None = None
    project_urls: dict[str, str | None] | None = None
    home_page: str | None = None
    #: PEP 508 requirements of this version (None: the index did not say). Read leniently:
    #: an odd shape here must not cost the repository URL read from the same document.
    requires_dist: Any = None


class PypiRole(WireModel):
    """One entry of `ownership.roles`: a user who owns or maintains the project."""

    role: str | None = None
    user: str


class PypiOwnership(WireModel):
    """`ownership`: the project's collaborators (project-level, not per release)."""

    roles: list[PypiRole] = Field(default_factory=list)


class PypiProject(WireModel):
    """`GET /pypi/<name>/json`."""

    info: PypiInfo
    releases: dict[str, list[PypiFile]] = Field(default_factory=dict)
    ownership: PypiOwnership | None = None
    last_serial: int | None = None


class PypiVersionDoc(WireModel):
    """`GET /pypi/<name>/<version>/json`: the version's own `info` and files."""

    info: PypiInfo
    urls: list[PypiFile] = Field(default_factory=list)


# --- PyPI Simple API, PEP 691 JSON -------------------------------------------------------------


class SimpleFile(WireModel):
    """One entry of `files` in a PEP 691 project page."""

    filename: str
    url: str
    hashes: dict[str, str] = Field(default_factory=dict)
    upload_time: datetime | None = Field(default=None, alias="upload-time")
    # PEP 592/691: false, true, or a string giving the reason (which also means yanked).
    yanked: bool | str = False
    size: int | None = None
    # PEP 740: a URL when the file has attestations, null when it has none; an index that
    # does not implement PEP 740 omits the key (see `model_fields_set`).
    provenance: str | None = None


class SimpleProject(WireModel):
    """A PEP 691 project page (`application/vnd.pypi.simple.v1+json`)."""

    name: str | None = None
    files: list[SimpleFile]
    # PEP 700 (api-version 1.1): every version, including ones without files.
    versions: list[str] | None = None


# --- helpers -----------------------------------------------------------------------------------


#: How much registry-supplied text (a key, a version) one message quotes.
_SHOWN_TEXT = 256


def shown(text: object, limit: int = _SHOWN_TEXT) -> str:
    """Registry-supplied text made safe for a one-line message or a log line.

    CR, LF and other control or line-breaking characters are escaped (a `\\r` in a packument
    key must not split a log line or forge a new one), and long text is cut at `limit`.
    """
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    return logline(value)


def validate(model: type[ModelT], data: object, what: str) -> ModelT:
    """Validate `data` as `model`, turning pydantic's error into a one-line MalformedResponse.

    `what` names the document ("npm registry https://… for 'x'"). Only the location and kind of
    the first error are reported, never the offending value (it may be huge); the location's
    keys come from the registry, so they are escaped and shortened.
    """
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False)[0]
        loc = ".".join(shown(p) for p in first["loc"]) or "(root)"
        raise MalformedResponse(
            f"{what}: unexpected shape at {shown(loc, 4 * _SHOWN_TEXT)}: "
            f"{shown(first['msg'], 4 * _SHOWN_TEXT)} ({e.error_count()} error(s))"
        ) from e
    # Hostile documents can break the validator itself rather than fail validation: nesting
    # deeper than the interpreter's stack (RecursionError), numbers too large to convert
    # (ValueError, OverflowError). Any of them means "malformed", never a traceback.
    except (RecursionError, ValueError, OverflowError) as e:
        raise MalformedResponse(
            f"{what}: unexpected shape: the document cannot be read ({type(e).__name__})"
        ) from e


def response_json(response: httpx.Response, what: str) -> object:
    """The response body as JSON, or MalformedResponse for anything else (HTML, truncation)."""
    try:
        return response.json()
    # JSONDecodeError and UnicodeDecodeError are both ValueErrors: a captive portal, a proxy
    # error page or a truncated body must read as "malformed", not crash with a traceback.
    # ValueError also covers an integer of more digits than `sys.get_int_max_str_digits()`.
    except ValueError as e:
        ctype = shown(response.headers.get("content-type", "no content type"))
        raise MalformedResponse(f"{what}: response is not JSON ({ctype})") from e
    # `[[[[…` nested deeper than the interpreter's stack: json raises RecursionError, which is
    # not a ValueError. A hostile registry must not turn a poll into an uncaught exception.
    except RecursionError as e:
        raise MalformedResponse(f"{what}: response JSON is nested too deeply") from e


def check_status(response: httpx.Response, what: str) -> None:
    """Raise a RegistryError for a non-2xx status other than 404/410 (which callers handle).

    429 and 5xx never get here: HttpClient retries them and raises RegistryUnavailable.
    """
    status = response.status_code
    if 200 <= status < 300 or status in (404, 410):
        return
    if status in (401, 403):
        raise RegistryError(
            f"{what}: access denied (HTTP {status}); check the registry credentials"
        )
    raise RegistryError(f"{what}: unexpected HTTP {status}")


def get(
    http: HttpClient, url: str, what: str, headers: dict[str, str] | None = None
) -> httpx.Response | None:
    """GET `url`; None for 404/410 (not found), the response for 2xx, RegistryError otherwise."""
    response = http.get(url, headers=headers)
    check_status(response, what)
    if response.status_code in (404, 410):
        return None
    return response


def get_conditional(
    http: HttpClient,
    url: str,
    what: str,
    validators: Validators | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response | NotModified | None:
    """`get`, made conditional by `validators` when there are any: 304 → `NotModified`.

    A 304 may carry fresher validators (RFC 9110 §15.4.5); those win, the rest are kept. A
    304 to a request that carried no validators is nonsense and is reported as such, so a
    broken proxy cannot make a poll look like "nothing new" forever.
    """
    sent = validators if validators else None
    merged = dict(headers or {})
    if sent is not None:
        merged.update(sent.request_headers())
    response = http.get(url, headers=merged)
    if response.status_code == 304:
        if sent is None:
            raise MalformedResponse(f"{what}: HTTP 304 to a request without validators")
        fresh = Validators.from_headers(response.headers)
        return NotModified(
            Validators(
                etag=fresh.etag or sent.etag,
                last_modified=fresh.last_modified or sent.last_modified,
            )
        )
    check_status(response, what)
    if response.status_code in (404, 410):
        return None
    return response


def display_url(url: str | httpx.URL) -> str:
    """A URL safe for messages: userinfo (credentials), query and fragment removed."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def join_url(base: httpx.URL, reference: str, what: str) -> httpx.URL:
    """`reference` (a tarball or file URL from a registry document) resolved against `base`.

    httpx raises `InvalidURL` for references it cannot parse (`http://[::1`, a bad port,
    control characters); a registry that sends one is broken or hostile, which is a
    `MalformedResponse`, not a crash. The reference itself is not quoted: it may be huge.
    """
    try:
        return base.join(reference)
    # A lone surrogate ("\\udc00", valid in JSON) cannot be percent-encoded: httpx raises
    # UnicodeEncodeError (a ValueError) rather than InvalidURL for it.
    except (httpx.InvalidURL, ValueError) as e:
        raise MalformedResponse(f"{what}: a file URL in the response does not parse") from e


def with_trailing_slash(url: str) -> str:
    """`url` ending in exactly one `/`, so relative paths join below it rather than beside it."""
    return url.rstrip("/") + "/"


def parse_time(value: object) -> datetime | None:
    """An aware datetime from an ISO 8601 string (naive ones are UTC); None if not a timestamp."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            # Python 3.11's fromisoformat accepts the trailing "Z" registries send.
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


#: SRI algorithm names we can check a download with (hashlib names).
_SRI_ALGORITHMS = frozenset({"sha1", "sha256", "sha384", "sha512"})


def sri_to_hex(integrity: str, what: str) -> dict[str, str]:
    """Decode an SRI string (`sha512-<base64> sha1-<base64>`) to {algorithm: lowercase hex}.

    Unknown algorithms are skipped (SRI lets verifiers ignore them); a known algorithm whose
    value does not decode to the right digest length is MalformedResponse: an integrity value
    we cannot read must never silently weaken verification.
    """
    digests: dict[str, str] = {}
    for token in integrity.split():
        algo, sep, value = token.partition("-")
        algo = algo.lower()
        if not sep or algo not in _SRI_ALGORITHMS:
            continue
        value = value.split("?", 1)[0]  # SRI allows "?options" after the digest
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as e:
            raise MalformedResponse(f"{what}: integrity value for {algo} is not base64") from e
        if len(raw) != hashlib.new(algo).digest_size:
            raise MalformedResponse(f"{what}: integrity value for {algo} has the wrong length")
        digests.setdefault(algo, raw.hex())
    return digests


#: Forges whose owner/repo paths are case-insensitive, so they can be lowercased to compare.
_CASE_INSENSITIVE_FORGES = frozenset({"github.com", "gitlab.com", "bitbucket.org"})
#: Forges where a repository is always exactly /owner/name.
_TWO_SEGMENT_FORGES = frozenset({"github.com", "bitbucket.org", "codeberg.org"})
#: npm's "github:user/repo" shorthands.
_NPM_SHORTHAND_HOSTS = {
    "github": "github.com",
    "gitlab": "gitlab.com",
    "bitbucket": "bitbucket.org",
}
_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+\.[a-z]{2,}):(?P<path>(?!//)[^\s]+)$", re.I)
_BARE_SHORTHAND = re.compile(r"^[\w.-]+/[\w.-]+$")


def normalize_repository_url(raw: str | None) -> str | None:
    """A comparable `https://host/path` form of a source repository reference, or None.

    Accepts what package metadata carries: `git+https://github.com/o/r.git`,
    `git://…`, `git+ssh://git@github.com/o/r.git`, `git@github.com:o/r.git`,
    npm shorthands (`github:o/r`, `o/r`), trailing slashes and `#readme` fragments.
    Credentials, query and fragment are dropped; for the big forges the path is lowercased
    (they are case-insensitive), so only a real change of repository compares unequal.
    """
    if not raw:
        return None
    text = raw.strip()
    if not text:
        return None
    scheme, _, rest = text.partition(":")
    if scheme.lower() in _NPM_SHORTHAND_HOSTS and not rest.startswith("//"):
        text = f"https://{_NPM_SHORTHAND_HOSTS[scheme.lower()]}/{rest}"
    elif _BARE_SHORTHAND.match(text):
        text = f"https://github.com/{text}"
    else:
        scp = _SCP_LIKE.match(text)
        if scp and "://" not in text:
            text = f"https://{scp['host']}/{scp['path']}"
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    # "http://[::1" and friends: authors' package.json and project URLs are free text, and a
    # reference that does not parse names no repository (unknown, never "changed").
    except ValueError:
        return None
    if "://" not in text or not hostname:
        return None
    host = hostname.lower()
    path = parts.path.rstrip("/")
    path = path.removesuffix(".git").rstrip("/")
    if host in _TWO_SEGMENT_FORGES:
        # Links into a repository (…/tree/main/pkg, …/issues) name the same repository.
        path = "/".join(path.split("/")[:3])
    elif "/-/" in path:
        # GitLab separates the (possibly nested) project path from pages with "/-/".
        path = path.split("/-/", 1)[0]
    if host in _CASE_INSENSITIVE_FORGES:
        path = path.lower()
    # Any git transport (git+https, git+ssh, git://, ssh, http) points at the same repository;
    # the https form is the one a reviewer can open.
    return f"https://{host}{path}"
