"""Core value types that flow through the pipeline.

Everything here is a frozen dataclass or an enum: cheap, hashable, free of I/O, so rules and
renderers can be tested without a network, a disk or a database.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum

from watcher import gaps
from watcher.gaps import Gap


class Ecosystem(StrEnum):
    """A package ecosystem watcher understands."""

    NPM = "npm"
    PYPI = "pypi"


class Severity(Enum):
    """How much a finding or a whole report deserves a reviewer's attention (ordered)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order none < low < medium < high < critical."""
        return _SEVERITY_ORDER.index(self)

    def step_down(self, when: bool = True) -> Severity:
        """One level lower (never below LOW for a real finding), if `when`."""
        if not when or self.rank <= Severity.LOW.rank:
            return self
        return _SEVERITY_ORDER[self.rank - 1]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_SEVERITY_ORDER = (Severity.NONE, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class ArtifactKind(StrEnum):
    """The shape of a downloadable release file."""

    NPM_TARBALL = "npm-tarball"
    SDIST = "sdist"
    WHEEL = "wheel"


class Provenance(StrEnum):
    """Whether a release carries build provenance / attestations.

    UNKNOWN is distinct from ABSENT: mirrors strip attestations, and a stripped field must
    never be read as "provenance was removed".
    """

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who pushed one release to the registry.

    `trusted_publisher` names the OIDC identity (e.g. "github") when the release was published
    by CI through trusted publishing rather than by a person's token.
    """

    name: str | None = None
    email: str | None = None
    trusted_publisher: str | None = None


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A downloadable file of a release as the registry describes it.

    `digests` maps an algorithm name (`sha512`, `sha256`, `sha1`) to the expected digest as a
    lowercase hex string; npm's SRI base64 values are converted to hex by the registry client.
    """

    url: str
    filename: str
    kind: ArtifactKind
    digests: Mapping[str, str]
    size: int | None = None
    #: For wheels: tagged `py3-none-any`-style, i.e. the same code on every platform.
    pure_python: bool = False


@dataclass(frozen=True, slots=True)
class Declared:
    """What a registry's own metadata says a release declares (npm's packument version).

    None for a field means the registry did not say (mirrors strip fields; the abbreviated
    packument has no `scripts`): unknown, never "differs".
    """

    scripts: Mapping[str, str] | None = None
    dependencies: Mapping[str, str] | None = None
    has_install_script: bool | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a package with the registry metadata the rules look at.

    Any metadata field may be None: None means "the registry did not tell us", never "empty".
    """

    ecosystem: Ecosystem
    name: str
    version: str
    artifacts: tuple[ArtifactRef, ...]
    published_at: datetime | None = None
    maintainers: frozenset[str] | None = None
    publisher: Publisher | None = None
    provenance: Provenance = Provenance.UNKNOWN
    repository: str | None = None
    unpacked_size: int | None = None
    yanked: bool = False
    #: The registry's own account of the manifest, where it keeps one (npm); None: unknown.
    declared: Declared | None = None
    #: Human-facing page of this release on the registry (for report links).
    page_url: str | None = None
    #: npm: whether the tarball ships npm-shrinkwrap.json, which locks the dependencies it
    #: installs (the registry's `_hasShrinkwrap`); None: the registry did not say.
    has_shrinkwrap: bool | None = None


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """Everything the registry lists for a package name: its versions and when they appeared."""

    ecosystem: Ecosystem
    name: str
    #: version -> publish time (None when unknown), in the registry's order.
    versions: Mapping[str, datetime | None]
    latest: str | None = None
    #: When the name was first published (npm `time.created`); None when the registry did not
    #: say, in which case the earliest known version time stands in.
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A regular file read from an archive into memory."""

    path: str
    data: bytes
    sha256: str
    is_binary: bool

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    @property
    def text(self) -> str:
        """The content decoded as UTF-8, undecodable bytes replaced; at most `MAX_TEXT_BYTES`.

        Decoded once per content and shared (`_TEXTS`): a dozen rules read the same files.
        A larger file is read only that far, and the rest is a gap (never a silent skip): the
        per-artifact line budget stops its lines there anyway, and holding the bytes and a full
        copy as text would double the memory of the largest file a release may hold.
        """
        if len(self.data) > MAX_TEXT_BYTES:
            gaps.record(
                f"{self.path}: {len(self.data):,} bytes, only the first "
                f"{MAX_TEXT_BYTES // (1024 * 1024)} MiB read as text",
                self.path,
                self.sha256,
            )
            return _TEXTS.get(self.sha256, memoryview(self.data)[:MAX_TEXT_BYTES])
        return _TEXTS.get(self.sha256, self.data)

    @classmethod
    def of(cls, path: str, data: bytes) -> FileEntry:
        """Build an entry, computing its hash and a binary sniff (NUL byte in the first 8 KiB)."""
        return cls(
            path=path,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            is_binary=b"\x00" in data[:8192],
        )


#: The most of one file read as text (the per-artifact line budget's size, `watcher.diff.tree`).
MAX_TEXT_BYTES = 32 * 1024 * 1024


class _TextCache:
    """Decoded texts by content hash, least recently used first out, within a memory budget.

    A budget rather than a field on `FileEntry`: holding the text of every file read would
    double a release's memory (and quadruple it for text with one character beyond U+FFFF),
    while the repeated reads are of the few files the rules look at, one after the other.
    Texts larger than `largest` are decoded per read and never kept, so one huge file cannot
    push out every small one. Shared by the daemon's worker threads, hence the lock.
    """

    def __init__(self, budget: int, largest: int) -> None:
        self.budget = budget
        self.largest = largest
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, sha256: str, data: bytes | memoryview) -> str:
        """The text of `data` (whose hash is `sha256`), from the cache when it is there."""
        with self._lock:
            text = self._texts.get(sha256)
            if text is not None:
                self._texts.move_to_end(sha256)
                return text
        text = str(data, "utf-8", errors="replace")
        size = sys.getsizeof(text)
        if size > self.largest:
            return text
        with self._lock:
            if sha256 not in self._texts:
                self._texts[sha256] = text
                self._held += size
                while self._held > self.budget:
                    _, dropped = self._texts.popitem(last=False)
                    self._held -= sys.getsizeof(dropped)
        return text


#: 16 MiB of decoded text kept across reads; texts over 2 MiB are decoded per read. Measured on
#: typescript 5.8.3 → 5.9.2: 68 reads of 59 files, the repeats being of small sources that
#: several rules parse or search; bundles are read once or twice (their rules go through the
#: added lines), so keeping them would only raise the peak.
_TEXTS = _TextCache(budget=16 * 1024 * 1024, largest=2 * 1024 * 1024)


class SpecialKind(StrEnum):
    """Archive members that are not regular files; recorded, never materialised."""

    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DEVICE = "device"
    FIFO = "fifo"
    #: An entry the installer does not write (npm: nothing left after the top folder, `..`).
    SKIPPED = "skipped"
    #: A later entry for this path overwrote an earlier one (the installer keeps the last).
    DUPLICATE = "duplicate"
    #: Installed under this path on some platform only (npm on Windows splits on `\`).
    RENAMED = "renamed"
    #: Bytes after the end-of-archive marker: no installer reads them, `tar -i` would.
    HIDDEN_DATA = "hidden-data"


@dataclass(frozen=True, slots=True)
class SpecialEntry:
    """A link, device or fifo seen in an archive, or a way the installer's view differs from it.

    `target`: a link's target, or for the other kinds the archive's own name for the entry
    (or what was skipped), so a reviewer sees both names.
    """

    path: str
    kind: SpecialKind
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The contents of one artifact, root prefix (`package/`, `name-version/`) stripped."""

    filename: str
    kind: ArtifactKind
    files: Mapping[str, FileEntry]
    specials: tuple[SpecialEntry, ...] = ()
    #: What could not be read of this artifact (a refused archive leaves `files` empty).
    gaps: tuple[Gap, ...] = ()


class ChangeKind(StrEnum):
    """How a path differs between two snapshots."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class AddedLine:
    """A line present in the new file and not the old one, with its 1-based line number."""

    lineno: int
    text: str


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path that was added, removed or modified between two snapshots.

    `added_lines` holds every line of an added file, the `+` lines of a modified text file,
    or the whole new content when the file was too large to diff (`rewritten`), each as far
    as the line budgets reach (`watcher.diff.tree`; a cut is recorded as a gap). It is a
    compact view (`watcher.diff.lines.AddedLines`) that builds each `AddedLine` as it is read:
    iterate it, index it, take its `len`; hold on to the lines only where needed.
    """

    path: str
    kind: ChangeKind
    old: FileEntry | None
    new: FileEntry | None
    added_lines: Sequence[AddedLine] = ()
    removed_lines: Sequence[str] = ()
    rewritten: bool = False


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an artifact declares about itself, parsed from its own files (never executed).

    npm: package.json. PyPI: PKG-INFO / METADATA, pyproject.toml, setup.py text,
    entry_points.txt and *.pth files.
    """

    name: str | None = None
    version: str | None = None
    #: npm lifecycle scripts (all of `scripts`).
    scripts: Mapping[str, str] = field(default_factory=dict)
    #: name -> version spec; npm dependencies + optionalDependencies, PyPI Requires-Dist.
    dependencies: Mapping[str, str] = field(default_factory=dict)
    #: npm `bin` (name -> path).
    bin: Mapping[str, str] = field(default_factory=dict)
    #: PyPI entry points, "group:name" -> "module:attr".
    entry_points: Mapping[str, str] = field(default_factory=dict)
    #: pyproject.toml `[build-system] build-backend`.
    build_backend: str | None = None
    #: pyproject.toml `[build-system] backend-path`: an in-tree backend (the sdist's own code).
    backend_path: tuple[str, ...] = ()
    repository: str | None = None
    #: Paths of `*.pth` files, and of `binding.gyp` at the package root.
    pth_files: tuple[str, ...] = ()
    has_binding_gyp: bool = False
    #: An sdist's `[build-system] requires`: installed and run by pip to build it (PEP 517/518).
    build_requires: Mapping[str, str] = field(default_factory=dict)
    #: What of the manifest could not be read (not JSON, nested too deep, not an object).
    gaps: tuple[Gap, ...] = ()
    #: `setup.py` text, when the artifact has one.
    setup_py: str | None = None
    #: npm `main`, `module` and `type` of package.json (None when absent or not a string).
    main: str | None = None
    module: str | None = None
    package_type: str | None = None
    #: npm `exports` and `imports` maps as parsed JSON (a string, list or object; None if absent).
    exports: object = None
    imports: object = None


@dataclass(frozen=True, slots=True)
class ArtifactDiff:
    """The difference between the old and new form of one artifact kind (tarball/sdist/wheel).

    `old` is None for a first release (`watcher scan`): every file then counts as added.
    """

    kind: ArtifactKind
    old: Snapshot | None
    new: Snapshot
    old_manifest: Manifest | None
    new_manifest: Manifest
    changes: tuple[FileChange, ...]

    @property
    def label(self) -> str:
        """The artifact's file name, for findings that must say which artifact they came from."""
        return self.new.filename


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence that a release deserves a look."""

    rule: str
    severity: Severity
    message: str
    #: Taxonomy tag used by scoring to correlate findings (e.g. "install-hook", "network").
    category: str
    path: str | None = None
    line: int | None = None
    evidence: str | None = None
    #: Which artifact (file name) the finding came from, for ecosystems with several.
    artifact: str | None = None
    #: `name@version` of the newly added dependency whose scan produced this finding.
    via: str | None = None
    #: What the finding is about, when a rule can name it exactly (e.g. the host a network
    #: call reaches); `allow` entries match it instead of searching the evidence text.
    subject: str | None = None
    #: When the finding's file runs, from the installed view: "install", "import" or
    #: "shipped"; None when unknown (no path, no model, or a finding rebuilt from the store).
    #: Scoring correlates findings across the files of one artifact by it. An annotation, not
    #: part of the finding's identity: a report read back from JSON or the store lacks it.
    reach: str | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        """A stable identity for suppressions: rule, path and evidence, not line numbers."""
        parts = (self.rule, self.path or "", (self.evidence or self.message).strip())
        # Only findings from a dependency carry `via`, so existing fingerprints stay as they were.
        key = "\x1f".join(parts + ((self.via,) if self.via else ()))
        return hashlib.sha256(key.encode()).hexdigest()[:16]


class DependencyChange(StrEnum):
    """Why a dependency was analysed with its parent release."""

    #: Declared by the new release and not the old: scanned as a first release.
    ADDED = "added"
    #: Declared by both with another spec (range, re-pin): diffed against what the old spec
    #: resolved to when that resolved to a release of the same package, else scanned as new.
    CHANGED = "changed"
    #: An existing dependency now aliased to another package (`npm:other@^1`): scanned as new.
    REPOINTED = "repointed"
    #: Shipped inside the tarball under `node_modules/` (npm `bundleDependencies`).
    BUNDLED = "bundled"


@dataclass(frozen=True, slots=True)
class DependencyScan:
    """A dependency new or changed in a release, resolved and analysed on its own.

    The pipeline gathers these facts so that the dependency rules need no I/O. `version` is
    None when the spec could not be resolved; `error` says why the dependency was not
    scanned. Times are None when the registry did not say.
    """

    name: str
    spec: str
    version: str | None = None
    #: When the resolved version was published.
    published_at: datetime | None = None
    #: When the package's first version was published.
    first_published: datetime | None = None
    #: The dependency's own findings, each annotated with `via`.
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    #: What this dependency's analysis was diffed against (CHANGED, BUNDLED); None when it
    #: was analysed as a first release.
    old_version: str | None = None
    change: DependencyChange = DependencyChange.ADDED

    @property
    def label(self) -> str:
        """`name@version`, or `name spec` when unresolved."""
        return f"{self.name}@{self.version}" if self.version else f"{self.name} {self.spec}".strip()


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding left out of the score because a reviewed policy entry covers it."""

    finding: Finding
    #: The entry that matched: `allow:network:api.github.com` or `suppress:RULE@FINGERPRINT`.
    by: str


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule that raised: reported beside the findings, so the other rules' results stand."""

    rule: str
    error: str


@dataclass(frozen=True, slots=True)
class FileCounts:
    """How many files were added, removed and changed, summed over artifacts."""

    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One path a release added, removed or changed, with its line counts for the report.

    Counts are of the lines the diff read (its budgets may cut a huge file: see the gaps);
    a binary file has none and says so.
    """

    path: str
    kind: ChangeKind
    added: int = 0
    removed: int = 0
    binary: bool = False
    #: Too large to diff line by line: `added` counts the new content's lines read.
    rewritten: bool = False


@dataclass(frozen=True, slots=True)
class MetadataSummary:
    """Registry-metadata facts for the report; None means unknown."""

    publisher_changed: bool | None
    provenance: Provenance
    version_jump: bool


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict on one release (against its predecessor, or alone for a first release)."""

    ecosystem: Ecosystem
    package: str
    old_version: str | None
    new_version: str
    score: int
    severity: Severity
    findings: tuple[Finding, ...]
    files: FileCounts
    metadata: MetadataSummary
    artifacts: tuple[str, ...] = ()
    #: Why the severity was escalated beyond its worst single finding.
    reasons: tuple[str, ...] = ()
    rule_failures: tuple[RuleFailure, ...] = ()
    links: tuple[str, ...] = ()
    #: Findings a reviewer allowed or accepted (`watcher.policy`): shown, never scored.
    suppressed: tuple[Suppressed, ...] = ()
    #: The files behind `files`, by path (the same change in several artifacts listed once).
    changed_files: tuple[ChangedFile, ...] = ()
    #: For a dependency release: how each affected subscription installs it
    #: (`@vendor/server@1.2.3 → schema-validator@^4.1.0 → fast-str 1.0.7 → 1.0.8`).
    dependency_paths: tuple[str, ...] = ()
