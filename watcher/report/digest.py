"""What a reviewer reads first: findings collapsed, ordered by when their code runs, and the
changed files, for every renderer to show the same way.

Three things make a big honest release long without making it risky: the same finding in
every artifact (an sdist and its wheels, one wheel per platform), findings in files nothing
installs or loads (tests, docs, `.github/`, examples an sdist ships), and many small changes.
So identical findings (rule, severity and evidence) become one line with a count and their
places; code that runs on install comes first, then code that runs on import or load, then
the rest; findings the installed view shows are never reached are listed apart. They are
never hidden: a reviewer sees that they exist and where, below what runs.

Pure functions over a `Report`: nothing here changes a verdict (scoring caps never-reached
code at low, `watcher.rules.engine`), it only orders and groups what the report says.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from watcher.models import ChangedFile, ChangeKind, Ecosystem, Finding, Report, Severity

#: Places shown for a collapsed finding before "… and N more".
SHOWN_PLACES = 3
#: Changed files listed before "… and N more": about a screenful.
SHOWN_FILES = 25


class Stage(Enum):
    """When a finding's code runs, in the order a reviewer should read them."""

    INSTALL = "install"
    IMPORT = "import"
    OTHER = "other"
    UNREACHED = "unreached"

    @property
    def title(self) -> str:
        """The heading renderers show above the stage's findings."""
        return _TITLES[self]


_TITLES = {
    Stage.INSTALL: "Runs at install time",
    Stage.IMPORT: "Runs at import or load time",
    Stage.OTHER: "Metadata and other files",
    Stage.UNREACHED: "Not loaded by anything the installer or the package runs",
}


def stage_of(finding: Finding) -> Stage:
    """The stage a finding belongs to, from its reach (`Finding.reach`) or its category.

    Apart (UNREACHED) only what the installed view says is shipped and scoring kept at low or
    below: a shipped data file can still be read by what runs (an agent's instructions, a
    config), and those findings keep their severity and their place among the rest.
    """
    # A hook's declaration (`postinstall` in package.json, `setup.py`'s cmdclass, a `.pth`) is
    # install-time code wherever it is written down; a command (`bin`) runs when it is called.
    if finding.reach == "install" or finding.category == "install-hook":
        return Stage.INSTALL
    if finding.reach == "import" or finding.category == "bin":
        return Stage.IMPORT
    if finding.reach == "shipped" and finding.severity <= Severity.LOW:
        return Stage.UNREACHED
    return Stage.OTHER


@dataclass(frozen=True, slots=True)
class Group:
    """Identical findings: the first as it was reported, and every one of them."""

    findings: tuple[Finding, ...]
    stage: Stage

    @property
    def first(self) -> Finding:
        """The finding shown for the group (the report's first of them)."""
        return self.findings[0]

    @property
    def count(self) -> int:
        """How many identical findings the group stands for."""
        return len(self.findings)

    def places(self, several_artifacts: bool = True) -> tuple[str, ...]:
        """Where the findings are, each `path:line` once: with its artifact, or with how many
        artifacts have it (the same file in every platform wheel is one place)."""
        artifacts: dict[str, list[str]] = {}
        for f in self.findings:
            found = artifacts.setdefault(place(f, several_artifacts=False), [])
            if f.artifact and f.artifact not in found:
                found.append(f.artifact)
        out = []
        for where, found in artifacts.items():
            if several_artifacts and len(found) == 1:
                where += f" [{found[0]}]"
            elif several_artifacts and len(found) > 1:
                where += f" [in {len(found)} artifacts]"
            out.append(where)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Section:
    """The groups of one stage, most severe first."""

    stage: Stage
    groups: tuple[Group, ...]

    @property
    def count(self) -> int:
        """How many findings (not groups) the section stands for."""
        return sum(g.count for g in self.groups)


@dataclass(frozen=True, slots=True)
class Digest:
    """A report's findings as a reviewer reads them: what runs first, unreached apart."""

    sections: tuple[Section, ...]

    @property
    def reached(self) -> tuple[Section, ...]:
        """Install time, import time, then the rest; empty stages left out."""
        return tuple(s for s in self.sections if s.stage is not Stage.UNREACHED)

    @property
    def unreached(self) -> Section | None:
        """Findings in files nothing installs, imports or runs; None when there are none."""
        return next((s for s in self.sections if s.stage is Stage.UNREACHED), None)


def place(finding: Finding, several_artifacts: bool = True) -> str:
    """`via: path:line [artifact]` (the artifact only when the release has several)."""
    where = finding.path or "(metadata)"
    if finding.via:
        where = f"{finding.via}: {where}"
    if finding.line is not None:
        where += f":{finding.line}"
    if finding.artifact and several_artifacts:
        where += f" [{finding.artifact}]"
    return where


def _key(finding: Finding, stage: Stage) -> tuple[str, Severity, str, str, Stage]:
    # Evidence, not the message: messages may name the file; the same line in two places is
    # the same finding. Without evidence the message is all there is to compare.
    text = (finding.evidence or "").strip() or finding.message.strip()
    return (finding.rule, finding.severity, text, finding.via or "", stage)


def collapse(findings: Iterable[Finding]) -> list[Group]:
    """Identical findings grouped, in order of first appearance."""
    groups: dict[tuple[str, Severity, str, str, Stage], list[Finding]] = {}
    for finding in findings:
        stage = stage_of(finding)
        groups.setdefault(_key(finding, stage), []).append(finding)
    return [Group(tuple(members), key[4]) for key, members in groups.items()]


def digest(findings: Sequence[Finding]) -> Digest:
    """The findings collapsed and ordered by stage, then severity (stable otherwise)."""
    groups = collapse(findings)
    sections = []
    for stage in Stage:
        in_stage = [g for g in groups if g.stage is stage]
        if in_stage:
            in_stage.sort(key=lambda g: -g.first.severity.rank)
            sections.append(Section(stage, tuple(in_stage)))
    return Digest(tuple(sections))


def report_digest(report: Report) -> Digest:
    """`digest` of a report's scored findings."""
    return digest(report.findings)


@dataclass(frozen=True, slots=True)
class FileList:
    """The changed files a renderer shows, and how many it leaves out."""

    shown: tuple[ChangedFile, ...]
    more: int


def file_list(files: Sequence[ChangedFile], limit: int = SHOWN_FILES) -> FileList:
    """The first `limit` changed files (added, then changed, then removed: new code first)."""
    order = {ChangeKind.ADDED: 0, ChangeKind.MODIFIED: 1, ChangeKind.REMOVED: 2}
    ranked = sorted(files, key=lambda c: (order[c.kind], c.path))
    if len(ranked) <= limit:
        return FileList(tuple(ranked), 0)
    # "… and 1 more" would take the line the one file needs.
    return FileList(tuple(ranked[: limit - 1]), len(ranked) - (limit - 1))


_MARK = {ChangeKind.ADDED: "A", ChangeKind.MODIFIED: "M", ChangeKind.REMOVED: "D"}


def file_counts(change: ChangedFile) -> str:
    """`+12 −3`, `binary`, or `rewritten, 9000 lines` for a file too large to diff."""
    if change.binary:
        return "binary"
    if change.rewritten:
        return f"rewritten, {change.added} lines"
    return f"+{change.added} −{change.removed}"


def file_mark(change: ChangedFile) -> str:
    """One letter for the kind of change, as `git status --short` shows it (A, M, D)."""
    return _MARK[change.kind]


def shown_places(places: Sequence[str], limit: int = SHOWN_PLACES) -> tuple[list[str], int]:
    """The first `limit` places and how many more there are."""
    if len(places) <= limit:
        return list(places), 0
    return list(places[:limit]), len(places) - limit


def approve_command(ecosystem: Ecosystem, name: str, version: str) -> str:
    """The exact `watcher approve` a reviewer runs to accept this release, shell-quoted.

    `--ecosystem` unless the name says it (`@scope/x` is npm): `approve` refuses a name
    pinned on both registries without it, and the command must work as pasted.
    """
    words = ["watcher", "approve", name, version]
    if not (ecosystem is Ecosystem.NPM and name.startswith("@")):
        words += ["--ecosystem", ecosystem.value]
    return shlex.join(words)
