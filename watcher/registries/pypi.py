"""PyPI client: the warehouse JSON API, with the Simple API for private indexes.

pypi.org (and mirrors of it) serve `GET <base>/pypi/<name>/json`, which carries upload times,
yanked flags, sha256 digests and the project's owners/maintainers. Private indexes
(pypiserver, devpi, Artifactory) often only serve the Simple API: PEP 691 JSON or PEP 503 HTML
at `<base>/simple/<name>/`. The client uses the JSON API when the index has it and falls back
to the Simple API on 404, or goes straight to it when the base URL ends in `/simple`.

Project names are normalised per PEP 503 (`Foo_Bar` → `foo-bar`) in URLs and in the
`PackageInfo`/`Release` this client returns, so one project has one name throughout.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

import httpx
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from watcher.errors import PackageNotFound, VersionNotFound
from watcher.httpclient import HttpClient
from watcher.models import (
    ArtifactKind,
    ArtifactRef,
    Ecosystem,
    PackageInfo,
    Provenance,
    Release,
)
from watcher.registries import wire
from watcher.registries.base import NotModified, Validators, VersionList

PUBLIC_PYPI = "https://pypi.org/"
_PUBLIC_HOST = "pypi.org"

#: PEP 691 content negotiation: JSON preferred, PEP 503 HTML accepted.
SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"

#: How many of the most recent versions an unknown-version error lists.
_HINT_VERSIONS = 5

# PEP 508 / core metadata: a valid project name.
_PYPI_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)

#: Digest algorithms worth keeping from `#<algo>=<hex>` fragments; md5 is not an integrity check.
_HASH_ALGORITHMS = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def is_valid_pypi_name(name: str) -> bool:
    """Whether `name` is a syntactically valid PyPI project name."""
    return _PYPI_NAME.match(name) is not None


@dataclass(frozen=True, slots=True)
class _File:
    """One release file in a source-independent form (JSON API and Simple API alike)."""

    version: str
    uploaded: datetime | None
    yanked: bool
    #: None for file kinds watcher does not analyse (eggs, installers): they still count for
    #: the release's upload time and yanked state.
    artifact: ArtifactRef | None
    provenance: Provenance = Provenance.UNKNOWN


@dataclass(frozen=True, slots=True)
class _Project:
    """A project as read from one index, whichever API served it."""

    name: str
    source: Literal["json", "simple"]
    files: Mapping[str, tuple[_File, ...]]
    versions: Mapping[str, datetime | None]
    latest: str | None
    maintainers: frozenset[str] | None = None
    #: JSON API only: the project `info`, which describes the latest version.
    info: wire.PypiInfo | None = None


@dataclass
class _Anchor:
    """An `<a>` of a PEP 503 page: its attributes and text."""

    attrs: dict[str, str | None]
    text: list[str] = field(default_factory=list)


#: A tag name, matched at a known position: one character class, so it cannot backtrack.
_TAG_NAME = re.compile(r"[a-zA-Z][^\t\n\r\f />\x00]*")
#: An attribute name, matched at a known position (same: a single class, no backtracking).
_ATTR_NAME = re.compile(r"[^\t\n\r\f />][^\t\n\r\f /=>]*")
#: An unquoted attribute value.
_UNQUOTED = re.compile(r"[^\t\n\r\f >]*")
_SPACE = re.compile(r"[\t\n\r\f /]*")
_BLANK = re.compile(r"[\t\n\r\f ]*")
#: `=` between an attribute's name and value (html.parser accepts `==` too); two disjoint
#: classes in a row, so still no backtracking.
_EQUALS = re.compile(r"=+[\t\n\r\f ]*")
#: Elements whose content is raw text: a `<a` inside a script is not an anchor.
_RAW_TEXT = ("script", "style")
#: A decimal character reference: digits, then an optional ";" (one class, then a literal).
_DECIMAL_REF = re.compile(r"&#([0-9]+);?")
#: More significant digits than this is beyond U+10FFFF, which html.unescape makes U+FFFD.
_MAX_REF_DIGITS = 7


def _unescape(text: str) -> str:
    """`html.unescape`, safe on a page's text: `&#` followed by thousands of digits made it
    raise ValueError (`int()` refuses more than 4300 digits); such a reference means U+FFFD,
    as any beyond U+10FFFF does."""
    if "&#" in text:
        text = _DECIMAL_REF.sub(_short_reference, text)
    return html.unescape(text)


def _short_reference(match: re.Match[str]) -> str:
    digits = match.group(1).lstrip("0") or "0"
    return "\ufffd" if len(digits) > _MAX_REF_DIGITS else f"&#{digits};"


@dataclass
class _SimplePage:
    """What a PEP 503 page says: its anchors and its first `<base href>`."""

    anchors: list[_Anchor] = field(default_factory=list)
    base_href: str | None = None


def _scan_simple_html(page: str) -> _SimplePage:
    """The anchors of a PEP 503 page, in one left-to-right pass (linear in the page's size).

    `html.parser` rescans an unfinished tag from its start whenever more text could complete
    it, which made a 300 KB page of `<a` take minutes; here every character is looked at a
    bounded number of times, and an unfinished tag, comment or quoted value ends the page
    (as `html.parser` treats it: text, never an anchor). Handled as `html.parser` did:
    case-insensitive tag and attribute names, the last of repeated attributes wins, valueless
    attributes are None, character references decoded in values and text, comments and
    `<!…>`/`<?…>` declarations skipped, `<script>`/`<style>` content ignored, and an anchor
    left open at the next `<a` or at the end of the page kept.
    """
    result = _SimplePage()
    lower = page.lower()  # for case-insensitive searches of end tags; same length
    size = len(page)
    current: _Anchor | None = None
    pos = 0
    unfinished = size  # where markup that never ends starts: from there on, text
    unmatched: set[str] = set()  # quote characters that do not occur again in the page
    while pos < size:
        lt = page.find("<", pos)
        if lt < 0:
            lt = size
        if current is not None and lt > pos:
            current.text.append(page[pos:lt])
        if lt >= size:
            unfinished = size
            break
        unfinished = lt
        if page.startswith("<!--", lt):
            close = page.find("-->", lt + 4)
            if close < 0:
                break
            pos = close + 3
            continue
        if page.startswith(("<!", "<?"), lt) or (
            page.startswith("</", lt) and not _TAG_NAME.match(page, lt + 2)
        ):
            close = page.find(">", lt + 2)
            if close < 0:
                break
            pos = close + 1
            continue
        if page.startswith("</", lt):
            name = _TAG_NAME.match(page, lt + 2)
            assert name is not None  # checked above
            close = page.find(">", name.end())
            if close < 0:
                break
            if name.group().lower() == "a" and current is not None:
                result.anchors.append(current)
                current = None
            pos = close + 1
            continue
        name = _TAG_NAME.match(page, lt + 1)
        if name is None:
            # A "<" that starts no tag is text.
            if current is not None:
                current.text.append("<")
            pos = lt + 1
            continue
        parsed = _scan_attributes(page, name.end(), unmatched)
        if parsed is None:
            break  # an unfinished tag: the rest of the page is not markup
        attrs, pos = parsed
        tag = name.group().lower()
        if tag == "a":
            if current is not None:
                result.anchors.append(current)
            current = _Anchor(attrs=attrs)
        elif tag == "base" and result.base_href is None:
            result.base_href = attrs.get("href")
        elif tag in _RAW_TEXT:
            close = lower.find("</" + tag, pos)
            if close < 0:
                close = size
            if current is not None:
                current.text.append(page[pos:close])
            pos = close
    else:
        unfinished = size
    if current is not None:
        current.text.append(page[unfinished:])
        result.anchors.append(current)
    return result


def _skip(pattern: re.Pattern[str], page: str, pos: int) -> int:
    """The position after what `pattern` (which matches the empty string too) matches at `pos`."""
    match = pattern.match(page, pos)
    assert match is not None
    return match.end()


def _scan_attributes(
    page: str, pos: int, unmatched: set[str]
) -> tuple[dict[str, str | None], int] | None:
    """The attributes of a start tag from `pos` (just after its name) and the position after
    its `>`; None when the tag is not finished before the end of the page.

    A quote that is never closed starts an unquoted value (as in `html.parser`); `unmatched`
    remembers such quote characters, so the page is searched for each at most once to its end.
    """
    attrs: dict[str, str | None] = {}
    size = len(page)
    while True:
        pos = _skip(_SPACE, page, pos)
        if pos >= size:
            return None
        if page[pos] == ">":
            return attrs, pos + 1
        name = _ATTR_NAME.match(page, pos)
        if name is None:  # "=" where a name should be: skip it, as browsers do
            pos += 1
            continue
        pos = name.end()
        after = _skip(_BLANK, page, pos)
        value: str | None = None
        if after < size and page[after] == "=":
            pos = _skip(_EQUALS, page, after)
            if pos >= size:
                return None
            quote_char = page[pos]
            close = -1
            if quote_char in "\"'" and quote_char not in unmatched:
                close = page.find(quote_char, pos + 1)
                if close < 0:
                    unmatched.add(quote_char)
            if close >= 0:
                value = _unescape(page[pos + 1 : close])
                pos = close + 1
            else:
                unquoted = _UNQUOTED.match(page, pos)
                assert unquoted is not None  # matches empty
                value = _unescape(unquoted.group())
                pos = unquoted.end()
        attrs[name.group().lower()] = value


class PypiRegistry:
    """Read-only client for pypi.org or a private Python package index.

    Project documents are cached per name for the life of the instance, so `package()`
    followed by `release()` calls costs one request (plus, on the JSON API, one per-version
    request for a non-latest release's repository URL, which only that version's `info` has).
    """

    ecosystem = Ecosystem.PYPI

    def __init__(self, http: HttpClient, base_url: str = PUBLIC_PYPI) -> None:
        self.http = http
        base = wire.with_trailing_slash(base_url)
        url = httpx.URL(base)
        if url.path.rstrip("/").endswith("/simple"):
            # A Simple API URL (pip's --index-url): there is no JSON API to try.
            self.json_base: str | None = None
            self.simple_base = base
        else:
            self.json_base = base
            self.simple_base = base + "simple/"
        self._display = wire.display_url(base)
        self._public = url.host == _PUBLIC_HOST
        self._projects: dict[str, _Project] = {}
        self._version_infos: dict[tuple[str, str], wire.PypiInfo | None] = {}

    def clear_cache(self) -> None:
        """Forget every project read so far (the daemon polls with one instance per cycle)."""
        self._projects.clear()
        self._version_infos.clear()

    # --- Registry protocol -------------------------------------------------------------------

    def package(self, name: str) -> PackageInfo:
        """All versions of `name` with their first upload times."""
        project = self._project(name)
        return PackageInfo(
            ecosystem=Ecosystem.PYPI,
            name=project.name,
            versions=dict(project.versions),
            latest=project.latest,
        )

    def release(self, name: str, version: str) -> Release:
        """One version of `name`: its sdists and wheels and what the index says about it."""
        project = self._project(name)
        key = _find_version(project.versions, version)
        if key is None:
            known = list(project.versions)[-_HINT_VERSIONS:]
            raise VersionNotFound(
                f"PyPI project '{project.name}' has no version '{wire.shown(version)}'"
                f" on {self._display}"
                f" (latest known: {', '.join(wire.shown(v) for v in reversed(known)) or 'none'})"
            )
        files = project.files.get(key, ())
        artifacts = tuple(f.artifact for f in files if f.artifact is not None)
        return Release(
            ecosystem=Ecosystem.PYPI,
            name=project.name,
            version=key,
            artifacts=artifacts,
            published_at=project.versions.get(key),
            maintainers=project.maintainers,
            publisher=None,
            provenance=_release_provenance(f for f in files if f.artifact is not None),
            repository=self._repository(project, key),
            unpacked_size=None,
            yanked=bool(files) and all(f.yanked for f in files),
            page_url=(f"https://pypi.org/project/{project.name}/{key}/" if self._public else None),
        )

    def latest_versions(
        self, name: str, validators: Validators | None = None
    ) -> NotModified | VersionList:
        """`package(name)` as a conditional GET of the project document (see `Registry`).

        The validators go to whichever document answers (the JSON API, else the Simple page):
        ETags are per document, and an index without a JSON API answers 404 there every time.
        """
        canonical = self._canonical(name)
        project: _Project | None = None
        answer: httpx.Response | NotModified | None = None
        if self.json_base is not None:
            answer = self._fetch_json(canonical, validators)
            if isinstance(answer, httpx.Response):
                project = self._json_project(canonical, answer)
        if answer is None:
            answer = self._fetch_simple(canonical, validators)
            if isinstance(answer, httpx.Response):
                project = self._simple_project(canonical, answer)
        if isinstance(answer, NotModified):
            return answer
        if project is None or answer is None:
            raise PackageNotFound(f"PyPI project '{wire.shown(name)}' not found on {self._display}")
        self._projects[canonical] = project
        return VersionList(self.package(canonical), Validators.from_headers(answer.headers))

    def requires_dist(self, name: str, version: str) -> tuple[str, ...] | None:
        """The `Requires-Dist` of one version, from the JSON API; None when the index has no
        JSON API or does not list them (a Simple-only index such as pypiserver)."""
        if self.json_base is None:
            return None
        canonical = self._canonical(name)
        key = _find_version(self._project(canonical).versions, version)
        if key is None:
            return None
        info = self._version_info(canonical, key)
        if info is None or not isinstance(info.requires_dist, list):
            return None
        return tuple(r for r in info.requires_dist if isinstance(r, str))

    # --- fetching ----------------------------------------------------------------------------

    def _canonical(self, name: str) -> str:
        if not is_valid_pypi_name(name):
            raise PackageNotFound(f"'{wire.shown(name)}' is not a valid PyPI project name")
        return canonicalize_name(name)

    def _project(self, name: str) -> _Project:
        canonical = self._canonical(name)
        cached = self._projects.get(canonical)
        if cached is not None:
            return cached
        project: _Project | None = None
        if self.json_base is not None:
            response = self._fetch_json(canonical, None)
            if isinstance(response, httpx.Response):
                project = self._json_project(canonical, response)
        if project is None:
            response = self._fetch_simple(canonical, None)
            if isinstance(response, httpx.Response):
                project = self._simple_project(canonical, response)
        if project is None:
            raise PackageNotFound(f"PyPI project '{wire.shown(name)}' not found on {self._display}")
        self._projects[canonical] = project
        return project

    def _get(
        self,
        url: str,
        what: str,
        headers: dict[str, str] | None = None,
        validators: Validators | None = None,
    ) -> httpx.Response | NotModified | None:
        """GET on this index; None when the index does not have the document.

        A redirect to another host counts as "not here": pypiserver, for one, redirects
        unknown names to pypi.org by default, and following that would report a public
        project as present on the private index (hiding a dependency-confusion setup).
        """
        response = wire.get_conditional(self.http, url, what, validators, headers)
        if isinstance(response, NotModified):
            return response
        if response is None or response.url.host != httpx.URL(url).host:
            return None
        return response

    def _json_what(self, canonical: str) -> str:
        return f"PyPI JSON API {self._display} for '{canonical}'"

    def _fetch_json(
        self, canonical: str, validators: Validators | None
    ) -> httpx.Response | NotModified | None:
        assert self.json_base is not None
        url = f"{self.json_base}pypi/{canonical}/json"
        return self._get(url, self._json_what(canonical), validators=validators)

    def _json_project(self, canonical: str, response: httpx.Response) -> _Project:
        what = self._json_what(canonical)
        doc = wire.validate(wire.PypiProject, wire.response_json(response, what), what)
        files: dict[str, tuple[_File, ...]] = {}
        for version, entries in doc.releases.items():
            files[version] = tuple(_json_file(version, f, response.url, what) for f in entries)
        versions = _order_versions({v: _first_upload(fs) for v, fs in files.items()})
        return _Project(
            name=canonical,
            source="json",
            files=files,
            versions=versions,
            latest=doc.info.version or _latest(versions, files),
            maintainers=(
                frozenset(r.user for r in doc.ownership.roles)
                if doc.ownership is not None
                else None
            ),
            info=doc.info,
        )

    def _simple_what(self, canonical: str) -> str:
        return f"PyPI simple index {self._display} for '{canonical}'"

    def _fetch_simple(
        self, canonical: str, validators: Validators | None
    ) -> httpx.Response | NotModified | None:
        return self._get(
            f"{self.simple_base}{canonical}/",
            self._simple_what(canonical),
            headers={"Accept": SIMPLE_ACCEPT},
            validators=validators,
        )

    def _simple_project(self, canonical: str, response: httpx.Response) -> _Project:
        what = self._simple_what(canonical)
        ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype.endswith("+json") or ctype == "application/json":
            page = wire.validate(wire.SimpleProject, wire.response_json(response, what), what)
            parsed = _simple_json_files(canonical, page, response.url, what)
            extra_versions = page.versions or []
        else:
            parsed = _simple_html_files(canonical, response.text, response.url, what)
            extra_versions = []
        files: dict[str, list[_File]] = {}
        for f in parsed:
            files.setdefault(f.version, []).append(f)
        for v in extra_versions:
            files.setdefault(v, [])
        frozen = {v: tuple(fs) for v, fs in files.items()}
        versions = _order_versions({v: _first_upload(fs) for v, fs in frozen.items()})
        return _Project(
            name=canonical,
            source="simple",
            files=frozen,
            versions=versions,
            latest=_latest(versions, frozen),
        )

    def _repository(self, project: _Project, version: str) -> str | None:
        """The source repository of one version, or None when the index does not say.

        The project document's `info` describes the latest version only; an older version's
        repository comes from its own document, which some mirrors do not serve (→ unknown).
        """
        if project.info is None:
            return None
        if project.info.version == version:
            return _repository_from_info(project.info)
        info = self._version_info(project.name, version)
        return _repository_from_info(info) if info is not None else None

    def _version_info(self, canonical: str, version: str) -> wire.PypiInfo | None:
        key = (canonical, version)
        if key in self._version_infos:
            return self._version_infos[key]
        assert self.json_base is not None
        what = f"PyPI JSON API {self._display} for '{canonical}=={wire.shown(version)}'"
        info = None
        try:
            url = f"{self.json_base}pypi/{canonical}/{quote(version, safe='')}/json"
        # The version is a key of the registry's document; one that cannot be UTF-8 encoded (a
        # lone surrogate) names no document, so its repository is unknown.
        except UnicodeError:
            self._version_infos[key] = None
            return None
        response = self._get(url, what)
        if isinstance(response, httpx.Response):
            info = wire.validate(wire.PypiVersionDoc, wire.response_json(response, what), what).info
        self._version_infos[key] = info
        return info


# --- file classification -------------------------------------------------------------------


def _classify(filename: str) -> tuple[ArtifactKind, bool] | None:
    """The artifact kind of a file name and whether it is a pure-Python wheel; None to skip."""
    lower = filename.lower()
    if lower.endswith(".whl"):
        try:
            tags = parse_wheel_filename(filename)[3]
        # Invalid*Filename and InvalidVersion are ValueErrors: an oddly named wheel is still
        # a wheel, it just cannot be called pure.
        except ValueError:
            return ArtifactKind.WHEEL, False
        return ArtifactKind.WHEEL, bool(tags) and all(t.platform == "any" for t in tags)
    if lower.endswith((".tar.gz", ".zip")):
        return ArtifactKind.SDIST, False
    # Eggs, .exe/.msi installers, .tar.bz2 and friends: nothing watcher can analyse.
    return None


def _version_from_filename(canonical: str, filename: str) -> str | None:
    """The version a Simple API file belongs to, or None when the name cannot be parsed.

    Files whose project part is not this project are skipped too: a Simple page should only
    list the project's own files.
    """
    try:
        if filename.lower().endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        elif filename.lower().endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
        else:
            return None
    # InvalidSdistFilename, InvalidWheelFilename and InvalidVersion are all ValueErrors.
    except ValueError:
        return None
    return str(version) if name == canonical else None


def _artifact(
    url: str, filename: str, digests: Mapping[str, str], size: int | None
) -> ArtifactRef | None:
    """An ArtifactRef for a file watcher can analyse; None for other kinds."""
    kind = _classify(filename)
    if kind is None:
        return None
    return ArtifactRef(
        url=url,
        # Registry text that every message about the file quotes: control characters escaped.
        filename=wire.shown(filename, limit=1024),
        kind=kind[0],
        digests=dict(digests),
        size=size,
        pure_python=kind[1],
    )


def _json_file(version: str, f: wire.PypiFile, base: httpx.URL, what: str) -> _File:
    """A warehouse JSON file entry (relative URLs on mirrors resolved against the response)."""
    digests = {
        algo: value.lower()
        for algo, value in f.digests.items()
        if algo in _HASH_ALGORITHMS and value and _HEX.match(value)
    }
    return _File(
        version=version,
        uploaded=wire.parse_time(f.upload_time_iso_8601),
        yanked=f.yanked,
        artifact=_artifact(str(wire.join_url(base, f.url, what)), f.filename, digests, f.size),
    )


def _simple_json_files(
    canonical: str, page: wire.SimpleProject, base: httpx.URL, what: str
) -> list[_File]:
    """Files of a PEP 691 page."""
    result: list[_File] = []
    for f in page.files:
        version = _version_from_filename(canonical, f.filename)
        if version is None:
            continue
        if "provenance" not in f.model_fields_set:
            provenance = Provenance.UNKNOWN
        elif f.provenance:
            provenance = Provenance.PRESENT
        else:
            provenance = Provenance.ABSENT
        digests = {
            algo: value.lower()
            for algo, value in f.hashes.items()
            if algo in _HASH_ALGORITHMS and _HEX.match(value)
        }
        result.append(
            _File(
                version=version,
                uploaded=wire.parse_time(f.upload_time),
                # A string is the yank reason, so any string (even empty) means yanked.
                yanked=f.yanked is not False,
                artifact=_artifact(
                    str(wire.join_url(base, f.url, what)), f.filename, digests, f.size
                ),
                provenance=provenance,
            )
        )
    return result


def _simple_html_files(canonical: str, page: str, base: httpx.URL, what: str) -> list[_File]:
    """Files of a PEP 503 page: `<a href="…#sha256=…" data-yanked>filename</a>`."""
    parsed = _scan_simple_html(page)
    if parsed.base_href:
        base = wire.join_url(base, parsed.base_href, what)
    result: list[_File] = []
    for anchor in parsed.anchors:
        href = anchor.attrs.get("href")
        if not href:
            continue
        url = wire.join_url(base, href, what)
        filename = _unescape("".join(anchor.text)).strip() or unquote(url.path.rsplit("/", 1)[-1])
        version = _version_from_filename(canonical, filename)
        if version is None:
            continue
        digests: dict[str, str] = {}
        algo, sep, value = url.fragment.partition("=")
        if sep and algo.lower() in _HASH_ALGORITHMS and _HEX.match(value):
            digests[algo.lower()] = value.lower()
        result.append(
            _File(
                version=version,
                uploaded=wire.parse_time(anchor.attrs.get("data-upload-time")),
                # PEP 592: the attribute's presence (with or without a reason) means yanked.
                yanked="data-yanked" in anchor.attrs,
                artifact=_artifact(str(url.copy_with(fragment=None)), filename, digests, None),
                # PEP 740 HTML carries only the positive case; no attribute is not proof of
                # absence, because indexes without PEP 740 omit it too.
                provenance=(
                    Provenance.PRESENT
                    if anchor.attrs.get("data-provenance")
                    else Provenance.UNKNOWN
                ),
            )
        )
    return result


# --- versions ----------------------------------------------------------------------------------


def _first_upload(files: Iterable[_File]) -> datetime | None:
    times = [f.uploaded for f in files if f.uploaded is not None]
    return min(times) if times else None


def _version_key(version: str) -> tuple[int, Version]:
    """Sort key: PEP 440 order, with unparseable legacy versions first."""
    try:
        return (1, Version(version))
    # InvalidVersion, and the plain ValueError `int()` raises for a release segment of more
    # than `sys.get_int_max_str_digits()` digits: a registry's version key is not trusted.
    except ValueError:
        return (0, Version("0"))


def _order_versions(times: Mapping[str, datetime | None]) -> dict[str, datetime | None]:
    """Oldest first by upload time when every version has one, else in PEP 440 order."""
    known: dict[str, datetime] = {v: t for v, t in times.items() if t is not None}
    if times and len(known) == len(times):
        return {v: times[v] for v in sorted(known, key=known.__getitem__)}
    return {v: times[v] for v in sorted(times, key=_version_key)}


def _latest(
    versions: Mapping[str, datetime | None], files: Mapping[str, tuple[_File, ...]]
) -> str | None:
    """What pip would pick: the highest final release not wholly yanked, else the highest."""
    candidates = sorted(versions, key=_version_key)
    for version in reversed(candidates):
        key = _version_key(version)
        fs = files.get(version, ())
        if key[0] and not key[1].is_prerelease and fs and not all(f.yanked for f in fs):
            return version
    return candidates[-1] if candidates else None


def _find_version(versions: Mapping[str, datetime | None], wanted: str) -> str | None:
    """The registry's key for `wanted`: exact, else PEP 440-equal (`1.0` finds `1.0.0`)."""
    if wanted in versions:
        return wanted
    try:
        target = Version(wanted)
    # InvalidVersion, or ValueError for a segment of too many digits (see `_version_key`).
    except ValueError:
        return None
    for version in versions:
        try:
            if Version(version) == target:
                return version
        except ValueError:
            continue
    return None


def _release_provenance(files: Iterable[_File]) -> Provenance:
    """PRESENT if any artifact has attestations, ABSENT if the index says none has, else UNKNOWN."""
    states = [f.provenance for f in files]
    if Provenance.PRESENT in states:
        return Provenance.PRESENT
    if states and all(s is Provenance.ABSENT for s in states):
        return Provenance.ABSENT
    return Provenance.UNKNOWN


# --- repository --------------------------------------------------------------------------------

#: `project_urls` labels that name the source repository, most specific first (normalised:
#: lowercase, letters only, as pypi.org itself matches them).
_SOURCE_LABELS = ("source", "sourcecode", "repository", "code", "github", "gitlab", "git")
_HOMEPAGE_LABELS = ("homepage", "home")
_FORGE_HOSTS = frozenset(
    {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht", "sr.ht"}
)


def _label(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _is_forge(normalized: str) -> bool:
    # urlsplit, not httpx.URL: `normalized` came from free text, and httpx refuses hosts
    # that urlsplit lets through (InvalidURL would escape as a traceback).
    return urlsplit(normalized).hostname in _FORGE_HOSTS


def _repository_from_info(info: wire.PypiInfo) -> str | None:
    """The source repository from `project_urls` (Source/Repository/…) or the home page.

    A link labelled as source is taken whatever its host (self-hosted GitLab is common); a
    home page counts only when it points at a known forge, because most home pages are docs.
    """
    urls = {_label(k): v for k, v in (info.project_urls or {}).items() if v}
    for label in _SOURCE_LABELS:
        if label in urls:
            normalized = wire.normalize_repository_url(urls[label])
            if normalized:
                return normalized
    candidates = [urls[label] for label in _HOMEPAGE_LABELS if label in urls]
    candidates += [u for u in urls.values() if u not in candidates]
    if info.home_page:
        candidates.append(info.home_page)
    for candidate in candidates:
        normalized = wire.normalize_repository_url(candidate)
        if normalized and _is_forge(normalized):
            return normalized
    return None
