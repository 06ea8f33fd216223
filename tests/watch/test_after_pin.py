"""Every release published after the pin is analysed, whatever its version number (issue 11).

The selection (`candidate_versions`) is tested on its own, then through the watch cycle on a
real store with an in-memory registry whose publish times and `latest` tag the test sets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import watcher.watch
from tests.fuzz import FUZZ
from tests.support import packages
from tests.support.stores import T0
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers, versions
from watcher.models import Ecosystem, PackageInfo, Severity
from watcher.pipeline import diff_release
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import Outcome, candidate_versions, check_once, version_key

NPM, PYPI = Ecosystem.NPM, Ecosystem.PYPI
STRUTIL = packages.STRUTIL
DAY = timedelta(days=1)
#: The pin's publish time in the selection tests.
PINNED_AT = T0 - 30 * DAY


# --- the selection ------------------------------------------------------------------------------


def test_a_lower_version_published_after_the_pin_is_a_candidate() -> None:
    # server-filesystem: 2.0.1 published on 2026-10-25, after the pinned 2026.8.31.
    times = {
        "0.6.2": PINNED_AT - 400 * DAY,
        "2.0.0": PINNED_AT - 100 * DAY,
        "2026.8.31": PINNED_AT,
        "2.0.1": PINNED_AT + 55 * DAY,
    }
    assert candidate_versions(NPM, times, "2026.8.31") == ["2.0.1"]


def test_an_older_line_patched_after_the_pin_is_a_candidate_and_earlier_ones_are_not() -> None:
    times = {
        "1.4.0": PINNED_AT - 300 * DAY,
        "2.0.0": PINNED_AT - 200 * DAY,
        "1.4.1": PINNED_AT - 100 * DAY,
        "3.1.0": PINNED_AT,
        "1.4.2": PINNED_AT + 2 * DAY,
        "3.1.1": PINNED_AT + 3 * DAY,
        "2.0.1": PINNED_AT + 4 * DAY,
    }
    assert candidate_versions(PYPI, times, "3.1.0") == ["1.4.2", "3.1.1", "2.0.1"]


def test_pre_releases_only_when_the_pin_is_one_or_latest_names_it() -> None:
    times = {
        "1.0.0": PINNED_AT,
        "1.1.0-beta.1": PINNED_AT + DAY,
        "1.0.1": PINNED_AT + 2 * DAY,
        "2.0.0-rc.1": PINNED_AT + 3 * DAY,
    }
    assert candidate_versions(NPM, times, "1.0.0") == ["1.0.1"]
    assert candidate_versions(NPM, times, "1.0.0", latest="2.0.0-rc.1") == ["1.0.1", "2.0.0-rc.1"]
    pre = {"1.1.0-beta.0": PINNED_AT - DAY, **times}
    assert candidate_versions(NPM, pre, "1.1.0-beta.0") == [
        "1.0.0",
        "1.1.0-beta.1",
        "1.0.1",
        "2.0.0-rc.1",
    ]


def test_latest_is_always_analysed_unless_it_is_the_pin() -> None:
    # A maintenance pin on 1.x; 2.0.0 came out before it and is what `npx -y` runs.
    times = {"2.0.0": PINNED_AT - DAY, "1.9.0": PINNED_AT}
    assert candidate_versions(NPM, times, "1.9.0") == []
    assert candidate_versions(NPM, times, "1.9.0", latest="2.0.0") == ["2.0.0"]
    assert candidate_versions(NPM, times, "1.9.0", latest="1.9.0") == []


def test_a_release_with_no_time_counts_when_newer_by_version() -> None:
    times = {"1.0.0": PINNED_AT, "0.9.9": None, "1.0.1": None, "0.9.8": PINNED_AT - DAY}
    assert candidate_versions(PYPI, times, "1.0.0") == ["1.0.1"]


def test_a_pin_with_no_known_time_falls_back_to_version_order_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    times = {"1.0.0": None, "0.9.9": PINNED_AT + DAY, "1.0.1": PINNED_AT + 2 * DAY}
    with caplog.at_level(logging.INFO, logger="watcher.watch"):
        assert candidate_versions(NPM, times, "1.0.0") == ["1.0.1"]
    assert "pin '1.0.0' has no known publish time" in caplog.text
    assert "by version order" in caplog.text
    # A pin the registry does not list at all: the same.
    assert candidate_versions(NPM, times, "0.9.9-x") == ["0.9.9", "1.0.0", "1.0.1"]


def test_versions_that_do_not_parse_are_chosen_by_time_only() -> None:
    times = {"1.0": PINNED_AT, "junk-1": PINNED_AT + DAY, "junk-0": PINNED_AT - DAY, "x": None}
    assert candidate_versions(PYPI, times, "1.0") == ["junk-1"]


SEMVER = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-rc.{pre}" if pre is not None else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.none() | st.integers(0, 2),
)
MOMENT = st.none() | st.integers(-5, 5).map(lambda days: PINNED_AT + days * DAY)


@FUZZ
@given(st.dictionaries(SEMVER, MOMENT, max_size=8), SEMVER, MOMENT, st.none() | SEMVER)
def test_what_is_chosen_against_a_pin_with_a_time(
    listed: dict[str, datetime | None], pin: str, pin_time: datetime | None, latest: str | None
) -> None:
    times = {**listed, pin: pin_time or PINNED_AT}
    chosen = candidate_versions(NPM, times, pin, latest=latest)
    assert pin not in chosen and len(set(chosen)) == len(chosen) and set(chosen) <= set(times)
    pin_key = version_key(NPM, pin)
    assert pin_key is not None
    for version, appeared in times.items():
        key = version_key(NPM, version)
        assert key is not None
        if version == pin:
            continue
        if version == latest:
            assert version in chosen
        elif key[1] and not pin_key[1]:
            assert version not in chosen  # a pre-release, and the pin is none
        elif appeared is not None:
            # by time alone, whatever the version number
            assert (version in chosen) == (appeared > times[pin])
        else:
            assert (version in chosen) == (key[0] > pin_key[0])
    moments = [t for v in chosen if (t := times[v]) is not None]
    if len(moments) == len(chosen):
        assert moments == sorted(moments)  # in time order when every one has a time


# --- through the watch cycle --------------------------------------------------------------------


@dataclass
class TimedNpm(FakeNpm):
    """`FakeNpm` whose publish times and `latest` tag the test sets (None: no time given)."""

    times: dict[str, datetime | None] = field(default_factory=dict)
    latest: str | None = None

    def publish_at(self, release: packages.NpmRelease, at: datetime | None) -> None:
        self.publish(release)
        self.times[release.version] = at

    def package(self, name: str) -> PackageInfo:
        info = super().package(name)
        times = {v: self.times.get(v) for v in info.versions}
        return replace(info, versions=times, latest=self.latest)


def release(base: packages.NpmRelease, version: str) -> packages.NpmRelease:
    """`base`'s files under another version number."""
    return packages.NpmRelease({**base.manifest, "version": version}, base.files)


def sub(pinned: str = "2.1.3", fail_on: Severity = Severity.HIGH) -> Subscription:
    return Subscription(
        ecosystem=NPM,
        name=STRUTIL,
        pinned=pinned,
        interval_seconds=60,
        notify=("slack:#sec",),
        fail_on=fail_on,
        registry=None,
        allow=(),
        source="subscriptions/test.toml:1",
    )


def cycle(
    store: Store, registry: TimedNpm, notifier: RecordingNotifier, now: datetime = T0
) -> list[Outcome]:
    return check_once(store, [sub()], registry.sources_factory(), notifiers(notifier), now, "t")


@pytest.fixture
def registry() -> TimedNpm:
    fake = TimedNpm()
    fake.publish_at(release(packages.strutil_2_1_5(), "2.0.0"), PINNED_AT - 60 * DAY)
    fake.publish_at(release(packages.strutil_2_1_5(), "2.2.0"), PINNED_AT - 30 * DAY)
    fake.publish_at(packages.strutil_2_1_3(), PINNED_AT)
    return fake


def test_first_poll_alerts_nothing_published_before_the_pin(
    store: Store, registry: TimedNpm
) -> None:
    notifier = RecordingNotifier()
    # 2.0.0 (lower) and 2.2.0 (higher) both came out before the pinned 2.1.3.
    assert cycle(store, registry, notifier) == []
    assert notifier.sent == []


def test_a_lower_release_published_after_the_pin_is_alerted_as_out_of_order(
    store: Store, registry: TimedNpm
) -> None:
    registry.publish_at(release(packages.strutil_2_1_4(), "2.0.1"), PINNED_AT + DAY)
    notifier = RecordingNotifier()
    [outcome] = cycle(store, registry, notifier)

    assert (outcome.pinned, outcome.version) == ("2.1.3", "2.0.1")
    assert versions(notifier.sent) == [(STRUTIL, "2.1.3", "2.0.1")]
    report = notifier.sent[0].report
    [out_of_order] = [f for f in report.findings if f.rule == "meta.out-of-order-publish"]
    assert "2.0.1 is lower than the reviewed 2.1.3 but was published after it" in (
        out_of_order.message
    )
    # The same pipeline as `watcher diff`: the same findings and verdict.
    expected = diff_release(registry.sources_factory()(sub()), STRUTIL, "2.1.3", "2.0.1")
    assert report.severity is expected.severity is Severity.CRITICAL
    assert [(f.rule, f.severity) for f in report.findings] == [
        (f.rule, f.severity) for f in expected.findings
    ]

    # Once only.
    assert cycle(store, registry, notifier, T0 + timedelta(hours=1)) == []
    assert len(notifier.sent) == 1


def test_the_release_latest_names_is_analysed_though_published_before_the_pin(
    store: Store, registry: TimedNpm
) -> None:
    registry.latest = "2.2.0"
    notifier = RecordingNotifier()
    [outcome] = cycle(store, registry, notifier)
    assert (outcome.pinned, outcome.version) == ("2.1.3", "2.2.0")


def test_a_pre_release_is_analysed_when_latest_names_it(store: Store, registry: TimedNpm) -> None:
    registry.publish_at(release(packages.strutil_2_1_4(), "2.1.0-beta.1"), PINNED_AT + DAY)
    registry.publish_at(release(packages.strutil_2_1_4(), "3.0.0-beta.1"), PINNED_AT + 2 * DAY)
    notifier = RecordingNotifier()
    assert cycle(store, registry, notifier) == []

    registry.latest = "3.0.0-beta.1"
    [outcome] = cycle(store, registry, notifier, T0 + timedelta(hours=1))
    assert outcome.version == "3.0.0-beta.1" and outcome.reached_fail_on


def test_with_no_publish_times_a_release_counts_from_when_watcher_first_saw_it(
    store: Store, registry: TimedNpm
) -> None:
    registry.times = dict.fromkeys(registry.times)  # a PEP 503 index gives no times
    registry.publish_at(release(packages.strutil_2_1_5(), "2.1.9"), None)
    notifier = RecordingNotifier()
    # First poll: what is listed was published at some time before it; only what is newer
    # by version order counts.
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.1.9", "2.2.0"]

    registry.publish_at(release(packages.strutil_2_1_4(), "2.0.1"), None)
    [outcome] = cycle(store, registry, notifier, T0 + timedelta(hours=1))
    assert (outcome.pinned, outcome.version) == ("2.1.3", "2.0.1")
    assert versions(notifier.sent) == [(STRUTIL, "2.1.3", "2.0.1")]
    seen = repo.seen_releases(store.session(), NPM, STRUTIL)
    assert seen["2.0.1"].first_seen_at == T0 + timedelta(hours=1)
    assert seen["2.0.0"].first_seen_at == T0

    assert cycle(store, registry, notifier, T0 + timedelta(hours=2)) == []
    assert len(notifier.sent) == 1


def test_the_per_poll_cap_keeps_latest_and_the_rest_follow(
    store: Store, registry: TimedNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher.watch, "MAX_NEW_RELEASES_PER_POLL", 2)
    for day, version in enumerate(["1.0.1", "2.0.1", "2.1.4", "2.1.5"], start=1):
        registry.publish_at(release(packages.strutil_2_1_5(), version), PINNED_AT + day * DAY)
    registry.latest = "1.0.1"
    notifier = RecordingNotifier()
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.1.5", "1.0.1"]
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.0.1", "2.1.4"]
    assert cycle(store, registry, notifier) == []


def test_an_out_of_order_release_is_analysed_again_under_new_rules_despite_a_304(
    store: Store, registry: TimedNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.etags = True
    registry.publish_at(release(packages.strutil_2_1_4(), "2.0.1"), PINNED_AT + DAY)
    notifier = RecordingNotifier()
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.0.1"]
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 1

    monkeypatch.setattr(watcher.watch, "rules_version", lambda: "other-rules")
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.0.1"]
    assert registry.not_modified == 1


def test_polls_stay_conditional_when_nothing_after_the_pin_awaits_analysis(
    store: Store, registry: TimedNpm
) -> None:
    registry.etags = True
    registry.publish_at(release(packages.strutil_2_1_5(), "2.1.4"), PINNED_AT + DAY)
    notifier = RecordingNotifier()
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.1.4"]
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 1

    # Older releases (the previous pin among them) were never analysed against the new pin,
    # and need not be: they came out before it.
    repo.approve(store.session(), NPM, STRUTIL, "2.1.4", "alice", now=T0)
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 2
