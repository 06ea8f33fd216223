"""How a rule is declared, what it sees, and the registry that holds them all.

A rule is a plain function that yields `Hit`s. Its metadata lives in the `@rule` decorator; the
engine turns hits into `Finding`s (filling in id, severity, category and artifact), so a rule
never repeats its own identity. Rules do no I/O: everything they need is in their context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from watcher.gaps import Gap
from watcher.installed import InstalledView, view_of
from watcher.models import (
    ArtifactDiff,
    ChangeKind,
    DependencyScan,
    Ecosystem,
    FileChange,
    PackageInfo,
    Release,
    Severity,
)


class Scope(StrEnum):
    """What a rule looks at: each artifact's diff, or the release pair's metadata once."""

    ARTIFACT = "artifact"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class ReleaseContext:
    """Everything known about a release pair. `old` is None for a first release.

    `old_release`/`new_release` are None when the artifacts came from local files.
    """

    ecosystem: Ecosystem
    name: str
    old_version: str | None
    new_version: str
    artifacts: tuple[ArtifactDiff, ...]
    old_release: Release | None = None
    new_release: Release | None = None
    package: PackageInfo | None = None
    #: Dependencies new in this release, resolved and scanned by the pipeline (registry only).
    dependencies: tuple[DependencyScan, ...] = ()
    #: The same name on the ecosystem's public registry, looked up by the pipeline when the
    #: package came from a private one (dependency confusion). None: not looked up, or absent.
    public_package: PackageInfo | None = None
    #: What could not be analysed beyond the artifacts' own gaps: recorded by parsers and
    #: rules while the rules ran, and rules that raised (filled in by the engine).
    gaps: tuple[Gap, ...] = ()


@dataclass(frozen=True, slots=True)
class ArtifactContext:
    """One artifact's diff, with the release it belongs to."""

    diff: ArtifactDiff
    release: ReleaseContext

    @property
    def ecosystem(self) -> Ecosystem:
        """The package's ecosystem."""
        return self.release.ecosystem

    @property
    def is_first_release(self) -> bool:
        """True when there is no previous version to compare with."""
        return self.diff.old is None

    @property
    def view(self) -> InstalledView:
        """The new artifact's installed view: what runs, when, as what (computed once)."""
        return view_of(self.diff.new, self.diff.new_manifest)

    @property
    def old_view(self) -> InstalledView | None:
        """The pinned artifact's installed view; None for a first release."""
        if self.diff.old is None:
            return None
        return view_of(self.diff.old, self.diff.old_manifest)

    def dialect(self, path: str) -> str | None:
        """The grammar the runtime reads a new file with ("javascript", "typescript", "tsx",
        "python"), whatever its name; None when the file is not JS or Python source."""
        return self.view.dialect(path)

    def old_dialect(self, path: str) -> str | None:
        """`dialect` for a file of the pinned release."""
        view = self.old_view
        return view.dialect(path) if view is not None else None

    def changed_files(self) -> Iterator[FileChange]:
        """Files added or modified (what a new release brings in)."""
        return (c for c in self.diff.changes if c.kind is not ChangeKind.REMOVED)


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports; the engine adds the rule's identity to make a `Finding`.

    `severity` overrides the rule's default when a hit is notably weaker or stronger
    (e.g. reading one environment variable vs. dumping them all).
    """

    message: str
    path: str | None = None
    line: int | None = None
    evidence: str | None = None
    severity: Severity | None = None
    #: One step below the hit's severity: the old release already had this capability.
    weaker: bool = False
    #: What the hit is about when the rule knows it exactly (e.g. a host), for `allow` entries.
    subject: str | None = None


ArtifactRuleFn = Callable[[ArtifactContext], Iterable[Hit]]
ReleaseRuleFn = Callable[[ReleaseContext], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered detection rule and its user-facing metadata."""

    id: str
    summary: str
    severity: Severity
    #: Correlation tag for scoring: "install-hook", "network", "env", "secrets", "exec", ...
    category: str
    ecosystems: frozenset[Ecosystem]
    scope: Scope
    #: Takes an ArtifactContext or a ReleaseContext, per `scope`.
    fn: Callable[[Any], Iterable[Hit]]
    #: Cap on findings per artifact, so one noisy file cannot bury the rest of the report.
    max_hits: int = 10


class RuleRegistry:
    """Rules by id, in registration order; a duplicate id is a programming error."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> None:
        """Register a rule; raises ValueError on a duplicate id."""
        if rule.id in self._rules:
            raise ValueError(f"duplicate rule id {rule.id!r}")
        self._rules[rule.id] = rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError if none."""
        return self._rules[rule_id]


REGISTRY = RuleRegistry()

ALL_ECOSYSTEMS = frozenset(Ecosystem)


def artifact_rule(
    *,
    id: str,
    summary: str,
    severity: Severity,
    category: str,
    ecosystems: frozenset[Ecosystem] = ALL_ECOSYSTEMS,
    max_hits: int = 10,
) -> Callable[[ArtifactRuleFn], ArtifactRuleFn]:
    """Register a rule that runs once per artifact diff."""

    def register(fn: ArtifactRuleFn) -> ArtifactRuleFn:
        REGISTRY.add(
            Rule(id, summary, severity, category, ecosystems, Scope.ARTIFACT, fn, max_hits)
        )
        return fn

    return register


def release_rule(
    *,
    id: str,
    summary: str,
    severity: Severity,
    category: str,
    ecosystems: frozenset[Ecosystem] = ALL_ECOSYSTEMS,
    max_hits: int = 10,
) -> Callable[[ReleaseRuleFn], ReleaseRuleFn]:
    """Register a rule that runs once per release pair (registry metadata)."""

    def register(fn: ReleaseRuleFn) -> ReleaseRuleFn:
        REGISTRY.add(Rule(id, summary, severity, category, ecosystems, Scope.RELEASE, fn, max_hits))
        return fn

    return register
