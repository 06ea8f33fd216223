"""When a release appeared, against the package's history: out-of-order and dormant publishes.

A backport (a 1.x patch while 3.x is current) is ordinary maintenance. Two shapes are not:
a version below the reviewed pin published after it (nobody upgrades *down* by choice, but a
range or a lockfile refresh can land there), and a line silent for years that suddenly gets a
patch: coa 2.0.3 and rc 1.2.9 (November 2021) came years after the previous release, from a
hijacked account, each with a new `preinstall`. Both need publish times; where the registry
gives none (or a mirror's copy dates), the rule says nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from packaging.version import Version

from watcher.models import Severity
from watcher.rules.metadata import version_key
from watcher.rules.registry import Hit, ReleaseContext, release_rule

#: Silence this long before a new patch is the coa/rc shape (3 and 6 years there).
DORMANT = timedelta(days=2 * 365)


def version_lower(a: str, b: str) -> bool:
    """Whether version `a` sorts below `b` (PEP 440 where both parse, else major.minor.patch)."""
    try:
        return Version(a) < Version(b)
    # not a gap: compared as major.minor.patch instead (InvalidVersion, or too many digits)
    except ValueError:
        ka, kb = version_key(a), version_key(b)
        return ka is not None and kb is not None and ka < kb


def release_line(version: str) -> tuple[int, ...] | None:
    """The line a version belongs to: its major, or major.minor below 1.0 (semver's rule)."""
    key = version_key(version)
    if key is None:
        return None
    return key[:2] if key[0] == 0 else key[:1]


def _years(delta: timedelta) -> str:
    return f"{delta.days / 365:.1f} years"


@release_rule(
    id="meta.out-of-order-publish",
    summary="Published below the reviewed version after it, or on a line dormant for years",
    severity=Severity.MEDIUM,
    category="out-of-order",
)
def out_of_order_publish(ctx: ReleaseContext) -> Iterator[Hit]:
    """Publish times against the pin and the package's history (coa/rc 2021)."""
    times = dict(ctx.package.versions) if ctx.package is not None else {}
    published = ctx.new_release.published_at if ctx.new_release else None
    published = published or times.get(ctx.new_version)
    if published is None:
        return
    old = ctx.old_release
    old_time = (old.published_at if old else None) or times.get(ctx.old_version or "")
    if ctx.old_version and old_time is not None and published > old_time:
        if version_lower(ctx.new_version, ctx.old_version):
            yield Hit(
                f"{ctx.new_version} is lower than the reviewed {ctx.old_version} but was "
                f"published after it ({_day(published)} vs {_day(old_time)})",
                evidence=f"version: {ctx.old_version} → {ctx.new_version}, "
                f"published {_day(published)}",
            )
    yield from _dormant(ctx, times, published)


def _dormant(
    ctx: ReleaseContext, times: dict[str, datetime | None], published: datetime
) -> Iterator[Hit]:
    earlier = {
        v: t for v, t in times.items() if t is not None and t < published and v != ctx.new_version
    }
    if not earlier:
        return
    line = release_line(ctx.new_version)
    same_line = {v: t for v, t in earlier.items() if line is not None and release_line(v) == line}
    if not same_line:
        return
    last_version, last_time = max(same_line.items(), key=lambda item: item[1])
    gap = published - last_time
    if gap < DORMANT:
        return
    whole = published - max(earlier.values())
    what = "the package" if whole >= DORMANT else f"the {'.'.join(map(str, line or ()))}.x line"
    yield Hit(
        f"{ctx.new_version} came after {_years(gap)} of silence on {what} (previous: "
        f"{last_version}, {_day(last_time)}): the shape of a hijacked dormant package",
        evidence=f"published {_day(published)}; {last_version} published {_day(last_time)}",
    )


def _day(moment: datetime) -> str:
    return moment.date().isoformat()
