"""The watch cycle on a real store (SQLite and PostgreSQL) with a fake registry and notifier.

The registry is in memory but everything after it is real: the fetcher verifies digests, the
archives are extracted and diffed, the rules run, and the store's transactions and leases are
the production ones.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

import watcher.watch
from tests.support import packages
from tests.support.stores import T0, count
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers, versions
from watcher.errors import NotifyError, RegistryUnavailable
from watcher.models import Ecosystem, Severity
from watcher.notify.base import Alert, OperationalAlert
from watcher.notify.console import ConsoleNotifier
from watcher.notify.slack import build_operational_blocks
from watcher.notify.webhook import WebhookNotifier
from watcher.pipeline import Sources
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import (
    RETRY_BUDGET,
    Outcome,
    candidate_versions,
    check_once,
    deliver,
    poll,
    rules_version,
    unreviewed,
)

STRUTIL = packages.STRUTIL
OWNER = "test-owner"


def subscription(
    name: str = STRUTIL, pinned: str = "2.1.3", fail_on: Severity = Severity.HIGH
) -> Subscription:
    return Subscription(
        ecosystem=Ecosystem.NPM,
        name=name,
        pinned=pinned,
        interval_seconds=60,
        notify=("slack:#sec",),
        fail_on=fail_on,
        registry=None,
        allow=(),
        source="subscriptions/test.toml:1",
    )


@pytest.fixture
def registry() -> FakeNpm:
    fake = FakeNpm()
    fake.publish(packages.strutil_2_1_3())
    return fake


def cycle(
    store: Store, registry: FakeNpm, notifier: RecordingNotifier, *subs: Subscription
) -> list[Outcome]:
    return check_once(
        store,
        list(subs or [subscription()]),
        registry.sources_factory(),
        notifiers(notifier),
        T0,
        OWNER,
    )


def test_new_malicious_release_gives_one_analysis_and_one_alert(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier()
    outcomes = cycle(store, registry, notifier)

    assert [(o.version, o.report.severity if o.report else None) for o in outcomes] == [
        ("2.1.4", Severity.CRITICAL)
    ]
    assert outcomes[0].reached_fail_on and outcomes[0].created
    assert versions(notifier.sent) == [(STRUTIL, "2.1.3", "2.1.4")]
    alert = notifier.sent[0]
    assert alert.channel == "slack:#sec"
    assert any(f.rule.startswith("npm.install-script") for f in alert.report.findings)
    assert count(store, "analyses") == 1
    assert count(store, "alerts") == 1
    [entry] = [e for e in repo.history(store.session(), Ecosystem.NPM, STRUTIL) if e.analyses]
    assert entry.analyses[0].alerts[0].status is repo.AlertStatus.SENT

    # The same cycle again: nothing new to analyse, nothing to send.
    assert cycle(store, registry, notifier) == []
    assert len(notifier.sent) == 1
    assert count(store, "analyses") == 1


def test_clean_release_is_analysed_without_alert(store: Store, registry: FakeNpm) -> None:
    registry.publish(packages.strutil_2_1_5())
    notifier = RecordingNotifier()
    [outcome] = cycle(store, registry, notifier)
    assert outcome.version == "2.1.5"
    assert outcome.report is not None and outcome.report.severity < Severity.HIGH
    assert not outcome.reached_fail_on and outcome.alert_ids == ()
    assert notifier.sent == []
    assert count(store, "analyses") == 1
    assert count(store, "alerts") == 0


@pytest.mark.parametrize(
    ("fail_on", "alerted"), [(Severity.CRITICAL, ["2.1.4"]), (Severity.NONE, [])]
)
def test_fail_on_decides_what_alerts(
    store: Store, registry: FakeNpm, fail_on: Severity, alerted: list[str]
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.strutil_2_1_5())
    notifier = RecordingNotifier()
    outcomes = cycle(store, registry, notifier, subscription(fail_on=fail_on))
    assert sorted(o.version or "" for o in outcomes) == ["2.1.4", "2.1.5"]
    assert [o.version for o in outcomes if o.reached_fail_on] == alerted
    assert [a.report.new_version for a in notifier.sent] == alerted
    assert count(store, "alerts") == len(alerted)


def test_registry_failure_backs_off_alerts_once_and_spares_other_packages(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.clean_1_0_0(), packages.clean_1_0_1())
    registry.down.add(STRUTIL)
    notifier = RecordingNotifier()
    subs = (subscription(), subscription(packages.CLEAN, "1.0.0"))
    outcomes = cycle(store, registry, notifier, *subs)

    failed = [o for o in outcomes if o.error]
    assert [(o.name, o.version) for o in failed] == [(STRUTIL, None)]
    assert "unavailable" in (failed[0].error or "")
    assert [o.version for o in outcomes if o.report] == ["1.0.1"]
    assert notifier.sent == []
    session = store.session()
    # Due again only after the backoff, not the interval; one operational alert once the
    # retry budget is spent, however often it fails after that.
    for tries in range(2, RETRY_BUDGET + 3):
        later = T0 + timedelta(hours=tries * 7)
        assert poll(store, subs[0], registry.sources_factory(), later, OWNER)[0].error
        claimed = repo.claim_due_polls(session, OWNER, later + timedelta(hours=7))
        assert any(t.name == STRUTIL and t.tries == tries for t in claimed)
        assert count(store, "alerts") == (1 if tries >= RETRY_BUDGET else 0)
    assert deliver(store, notifiers(notifier), OWNER, later) == 1
    [down] = notifier.sent
    assert isinstance(down, OperationalAlert) and down.event == "unreachable"
    assert down.channel == "slack:#sec" and down.failures == RETRY_BUDGET
    assert down.summary.startswith(
        f"watcher cannot poll registry https://registry.npmjs.org/ for package npm/{STRUTIL}"
    )
    assert "unavailable (HTTP 503)" in down.summary

    # Back up: the release is analysed, the tries reset, and one recovery note is queued.
    registry.down.clear()
    later = T0 + timedelta(days=3)
    [outcome] = poll(store, subs[0], registry.sources_factory(), later, OWNER)
    assert outcome.version == "2.1.4" and outcome.reached_fail_on
    assert deliver(store, notifiers(notifier), OWNER, later) == 2
    kinds = [(type(a).__name__, getattr(a, "event", None)) for a in notifier.sent[1:]]
    assert sorted(kinds) == [("Alert", None), ("OperationalAlert", "recovered")]
    claimed = repo.claim_due_polls(session, OWNER, later + timedelta(days=1))
    assert [t.tries for t in claimed if t.name == STRUTIL] == [0]
    poll(store, subs[0], registry.sources_factory(), later + timedelta(days=1), OWNER)
    assert count(store, "alerts") == 3


def test_a_release_that_cannot_be_fetched_does_not_hold_back_the_others(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.strutil_2_1_5())
    broken = registry.release
    registry.release = lambda name, version: (  # type: ignore[method-assign]
        replace(broken(name, version), artifacts=())
        if version == "2.1.4"
        else broken(name, version)
    )
    notifier = RecordingNotifier()
    outcomes = cycle(store, registry, notifier)
    assert {o.version: bool(o.error) for o in outcomes} == {"2.1.4": True, "2.1.5": False}
    assert count(store, "analyses") == 1


def test_yanked_and_prerelease_versions_are_skipped(store: Store, registry: FakeNpm) -> None:
    malicious = packages.strutil_2_1_4()
    beta = packages.NpmRelease({**malicious.manifest, "version": "2.2.0-beta.1"}, malicious.files)
    registry.publish(malicious, beta)
    registry.yanked.add((STRUTIL, "2.1.4"))
    notifier = RecordingNotifier()
    assert cycle(store, registry, notifier) == []
    assert count(store, "analyses") == 0
    assert notifier.sent == []


def test_transient_notify_failure_is_retried_and_permanent_fails(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier(failures=[NotifyError("Slack 503", retry_after=120)])
    cycle(store, registry, notifier)
    assert notifier.sent == [] and notifier.attempts == 1
    # Not before the receiver's Retry-After...
    assert deliver(store, notifiers(notifier), OWNER, T0 + timedelta(seconds=119)) == 0
    # ...then delivered once.
    assert deliver(store, notifiers(notifier), OWNER, T0 + timedelta(seconds=121)) == 1
    assert deliver(store, notifiers(notifier), OWNER, T0 + timedelta(hours=1)) == 0
    assert len(notifier.sent) == 1


def test_permanent_notify_failure_fails_the_alert_for_good(store: Store, registry: FakeNpm) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier(failures=[NotifyError("channel_not_found", permanent=True)])
    cycle(store, registry, notifier)
    assert deliver(store, notifiers(notifier), OWNER, T0 + timedelta(days=1)) == 0
    assert notifier.attempts == 1 and notifier.sent == []
    [alert] = [
        a
        for e in repo.history(store.session(), Ecosystem.NPM, STRUTIL)
        for s in e.analyses
        for a in s.alerts
    ]
    assert alert.status is repo.AlertStatus.FAILED
    assert alert.last_error == "channel_not_found"


def test_approve_moves_the_pin_and_the_next_diff_starts_there(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier()
    cycle(store, registry, notifier)
    repo.approve(store.session(), Ecosystem.NPM, STRUTIL, "2.1.4", "alice", now=T0)
    registry.publish(packages.strutil_2_1_5())
    [outcome] = cycle(store, registry, notifier)
    assert (outcome.pinned, outcome.version) == ("2.1.4", "2.1.5")


def test_a_new_rule_set_analyses_again(
    store: Store, registry: FakeNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier()
    cycle(store, registry, notifier)
    monkeypatch.setattr(watcher.watch, "rules_version", lambda: "other-rules")
    [outcome] = cycle(store, registry, notifier)
    assert outcome.created
    assert count(store, "analyses") == 2


def test_two_owners_at_once_write_one_analysis_and_send_one_alert(
    open_stores: Callable[[], Store], registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4())
    lock = threading.Lock()
    sent: list[str] = []

    class Locked(RecordingNotifier):
        def send(self, alert: Alert) -> None:
            with lock:
                sent.append(alert.dedup_key)

    stores = [open_stores() for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(index: int, store: Store) -> None:
        try:
            barrier.wait()
            check_once(
                store,
                [subscription()],
                registry.sources_factory(),
                lambda _c: Locked(),
                T0,
                f"owner-{index}",
            )
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert count(stores[0], "analyses") == 1
    assert count(stores[0], "alerts") == 1
    assert len(sent) == 1


def test_candidate_versions_order_and_filters() -> None:
    npm = ["1.0.0", "1.0.1", "1.0.10", "1.0.2", "1.1.0-beta.2", "1.1.0-beta.11", "1.1.0", "junk"]
    assert candidate_versions(Ecosystem.NPM, npm, "1.0.1") == ["1.0.2", "1.0.10", "1.1.0"]
    assert candidate_versions(Ecosystem.NPM, npm, "1.1.0-beta.2") == [
        "1.1.0-beta.11",
        "1.1.0",
    ]
    pypi = ["1.0", "1.0.1", "1.1rc1", "1.1", "2.0.dev1", "1.10"]
    assert candidate_versions(Ecosystem.PYPI, pypi, "1.0.0") == ["1.0.1", "1.1", "1.10"]
    assert candidate_versions(Ecosystem.PYPI, pypi, "1.1rc1") == ["1.1", "1.10", "2.0.dev1"]
    assert candidate_versions(Ecosystem.NPM, npm, "not-a-version") == []


def test_rules_version_is_stable_and_short() -> None:
    assert rules_version() == rules_version()
    assert len(rules_version()) == 16


# --- conditional polling ----------------------------------------------------------------------


def test_unchanged_version_list_is_answered_304_and_a_publish_is_seen(
    store: Store, registry: FakeNpm
) -> None:
    registry.etags = True
    notifier = RecordingNotifier()
    assert cycle(store, registry, notifier) == []
    assert registry.not_modified == 0
    state = repo.poll_state(store.session(), Ecosystem.NPM, STRUTIL)
    assert state is not None and state.etag == registry.etag(STRUTIL)

    assert cycle(store, registry, notifier) == []
    assert registry.not_modified == 1

    registry.publish(packages.strutil_2_1_5())
    [outcome] = cycle(store, registry, notifier)
    assert outcome.version == "2.1.5" and registry.not_modified == 1
    assert cycle(store, registry, notifier) == []
    assert registry.not_modified == 2


def test_a_304_does_not_hide_releases_that_need_analysis_against_a_moved_pin(
    store: Store, registry: FakeNpm
) -> None:
    registry.etags = True
    registry.publish(packages.strutil_2_1_4(), packages.strutil_2_1_5())
    notifier = RecordingNotifier()
    assert {o.version for o in cycle(store, registry, notifier)} == {"2.1.4", "2.1.5"}
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 1

    repo.approve(store.session(), Ecosystem.NPM, STRUTIL, "2.1.4", who="rev", now=T0)
    [outcome] = cycle(store, registry, notifier)
    assert (outcome.pinned, outcome.version) == ("2.1.4", "2.1.5")
    assert registry.not_modified == 1
    # Everything newer than the pin is analysed against it: conditional again.
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 2


def test_releases_past_the_per_poll_cap_are_not_hidden_by_a_304(
    store: Store, registry: FakeNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher.watch, "MAX_NEW_RELEASES_PER_POLL", 1)
    registry.etags = True
    registry.publish(packages.strutil_2_1_4(), packages.strutil_2_1_5())
    notifier = RecordingNotifier()
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.1.5"]
    state = repo.poll_state(store.session(), Ecosystem.NPM, STRUTIL)
    assert state is not None and state.etag is None
    assert [o.version for o in cycle(store, registry, notifier)] == ["2.1.4"]
    assert registry.not_modified == 0
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 1


def test_a_failed_poll_keeps_the_validators(store: Store, registry: FakeNpm) -> None:
    registry.etags = True
    notifier = RecordingNotifier()
    cycle(store, registry, notifier)
    registry.down.add(STRUTIL)
    assert cycle(store, registry, notifier)[0].error
    state = repo.poll_state(store.session(), Ecosystem.NPM, STRUTIL)
    registry.down.clear()
    assert state is not None and state.tries == 1 and state.etag == registry.etag(STRUTIL)
    assert cycle(store, registry, notifier) == [] and registry.not_modified == 1


# --- operational alerts -----------------------------------------------------------------------


def _failing_sources(message: str) -> watcher.watch.SourcesFactory:
    def build(_sub: Subscription) -> Sources:
        raise RegistryUnavailable(message)

    return build


def test_operational_alert_carries_no_credentials(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPM_TOKEN", "npm_s3cr3tT0ken")
    sub = replace(subscription(), registry="https://ci:hunter22@npm.corp.invalid/npm/")
    sources = _failing_sources(
        "https://ci:hunter22@npm.corp.invalid/npm/x?access_token=abc123 is unavailable "
        "(Authorization: Bearer npm_s3cr3tT0ken)"
    )
    for tries in range(RETRY_BUDGET):
        poll(store, sub, sources, T0 + timedelta(hours=tries), OWNER)
    notifier = RecordingNotifier()
    assert deliver(store, notifiers(notifier), OWNER, T0 + timedelta(days=1)) == 1
    [alert] = notifier.sent
    assert isinstance(alert, OperationalAlert)
    text = repr(alert)
    for secret in ("hunter22", "abc123", "npm_s3cr3tT0ken", "ci:"):
        assert secret not in text
    assert alert.registry == "https://npm.corp.invalid/npm/"
    assert "https://npm.corp.invalid/npm/x is unavailable" in alert.summary


def test_operational_alert_is_written_once_per_event(store: Store) -> None:
    session = store.session()
    payload = {"event": "unreachable", "at": T0.isoformat(), "summary": "s"}
    first = repo.record_operational_alert(
        session, Ecosystem.NPM, STRUTIL, ["slack:#a", "webhook", "slack:#a"], payload, "e1", now=T0
    )
    again = repo.record_operational_alert(
        session, Ecosystem.NPM, STRUTIL, ["slack:#a", "webhook"], payload, "e1", now=T0
    )
    assert len(first) == 2 and again == ()
    claimed = repo.claim_due_alerts(session, OWNER, T0)
    assert {(c.kind, c.analysis_id, c.channel) for c in claimed} == {
        (repo.AlertKind.OPERATIONAL, None, "slack:#a"),
        (repo.AlertKind.OPERATIONAL, None, "webhook"),
    }
    # History lists releases; an operational alert belongs to none.
    assert all(not e.analyses for e in repo.history(session, Ecosystem.NPM, STRUTIL))


def _operational() -> OperationalAlert:
    return OperationalAlert(
        channel="webhook",
        dedup_key="k" * 64,
        event="unreachable",
        ecosystem="npm",
        package="strutil",
        registry="https://registry.npmjs.org/",
        failures=5,
        error="boom <!channel>",
        at=T0.isoformat(),
        summary="watcher cannot poll registry https://registry.npmjs.org/ for package "
        "npm/strutil (5 failures in a row, as of 2026-11-21T12:00:00+00:00): boom <!channel>",
    )


def test_notifiers_mark_operational_alerts_as_such() -> None:
    out = io.StringIO()
    ConsoleNotifier(out).send(_operational())
    assert out.getvalue().startswith("=== watcher OPERATIONAL alert for webhook: unreachable")

    bodies: list[dict[str, object]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.headers["Idempotency-Key"] == "k" * 64
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(receive))
    WebhookNotifier("https://hooks.invalid/x", client).send(_operational())
    [body] = bodies
    assert (body["kind"], body["severity"], body["event"]) == (
        "operational",
        "operational",
        "unreachable",
    )
    assert "score" not in body and "findings" not in body

    text, blocks = build_operational_blocks(_operational())
    assert "OPERATIONAL" in text and blocks[0]["text"]["text"].startswith("OPERATIONAL:")
    # The error text cannot ping the channel: it is a rich_text text element, which Slack shows
    # as written (a ping would be a `broadcast` element), and no mrkdwn object holds it.
    summary = blocks[1]["elements"][0]["elements"][0]
    assert summary["type"] == "text" and "<!channel>" in summary["text"]
    mrkdwn = [e for b in blocks for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    assert mrkdwn and all("channel" not in e["text"] for e in mrkdwn)
    assert "<!channel>" not in text


def _strutil_calling(version: str, url: str) -> packages.NpmRelease:
    """2.1.3 plus one function that fetches `url` (a network call and a new host)."""
    base = packages.strutil_2_1_3()
    index = base.files["index.js"].replace(
        "module.exports",
        f"async function stars(repo) {{\n  const res = await fetch('{url}' + repo);\n"
        "  return (await res.json()).stargazers_count;\n}\n\nmodule.exports",
    )
    manifest = {**base.manifest, "version": version}
    return packages.NpmRelease(manifest, {**base.files, "index.js": index}, base.registry_fields)


def test_an_allowed_signal_does_not_alert_while_an_unallowed_one_does(
    store: Store, registry: FakeNpm
) -> None:
    registry.publish(
        _strutil_calling("2.1.6", "https://api.github.com/repos/"),
        _strutil_calling("2.1.7", "https://api.github.com.evil.invalid/repos/"),
    )
    notifier = RecordingNotifier()
    sub = replace(subscription(fail_on=Severity.MEDIUM), allow=("network:api.github.com",))
    outcomes = {o.version: o for o in cycle(store, registry, notifier, sub)}

    allowed, other = outcomes["2.1.6"].report, outcomes["2.1.7"].report
    assert allowed is not None and other is not None
    assert (allowed.severity, allowed.findings) == (Severity.NONE, ())
    assert {s.finding.rule for s in allowed.suppressed} == {"code.network", "code.new-host"}
    assert other.severity is Severity.MEDIUM and other.suppressed == ()
    assert [a.report.new_version for a in notifier.sent] == ["2.1.7"]
    assert count(store, "alerts") == 1
    # The stored analysis is the one with the policy applied: the gate agrees with the alerts.
    assert [u.version for u in unreviewed(store, [sub])] == ["2.1.7"]


class _HostileRelease(packages.NpmRelease):
    """A release whose tarball or package.json watcher cannot read as it is."""

    def __init__(self, version: str, *, tarball: bytes | None = None, pkg_json: str = "") -> None:
        super().__init__({"name": "hostile-srv", "version": version})
        self._tarball = tarball
        self._package_json = pkg_json

    @property
    def package_json(self) -> str:
        return self._package_json or super().package_json

    def tarball(self) -> bytes:
        return self._tarball if self._tarball is not None else super().tarball()


def _corrupt_tarball() -> bytes:
    import gzip

    return gzip.compress(b"package/index.js".ljust(512, b"\0") + b"\x01" * 700)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(lambda: _HostileRelease("1.0.1", tarball=_corrupt_tarball()), id="refused"),
        pytest.param(lambda: _HostileRelease("1.0.1", pkg_json="[" * 5000), id="deep-manifest"),
    ],
)
def test_an_unreadable_release_is_a_release_alert_and_the_next_package_is_still_polled(
    store: Store, registry: FakeNpm, hostile: Callable[[], packages.NpmRelease]
) -> None:
    """Fail closed in the daemon: the release is alerted as not fully analysed (not as an
    operational problem), and the packages after it in the same cycle are polled as usual."""
    registry.publish(_HostileRelease("1.0.0"), hostile(), packages.strutil_2_1_4())
    notifier = RecordingNotifier()
    outcomes = cycle(
        store, registry, notifier, subscription("hostile-srv", pinned="1.0.0"), subscription()
    )
    assert [(o.name, o.version, o.error) for o in outcomes] == [
        ("hostile-srv", "1.0.1", None),
        (STRUTIL, "2.1.4", None),
    ]
    assert set(versions(notifier.sent)) == {
        ("hostile-srv", "1.0.0", "1.0.1"),
        (STRUTIL, "2.1.3", "2.1.4"),
    }
    assert all(isinstance(a, Alert) for a in notifier.sent)
    [alert] = [a for a in notifier.sent if a.report.package == "hostile-srv"]
    assert alert.report.severity >= Severity.HIGH
    assert any(f.rule == "analysis.incomplete" for f in alert.report.findings)


def test_an_unexpected_registry_error_does_not_end_the_cycle(
    store: Store, registry: FakeNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug or a hostile packument (RecursionError) in one package's poll is that package's
    failure, retried with backoff; the next package is still polled in the same cycle."""
    registry.publish(_HostileRelease("1.0.0"), packages.strutil_2_1_4())
    real = registry.latest_versions

    def explode(name: str, validators: object = None) -> object:
        if name == "hostile-srv":
            raise RecursionError("maximum recursion depth exceeded")
        return real(name, validators)  # type: ignore[arg-type]

    monkeypatch.setattr(registry, "latest_versions", explode)
    notifier = RecordingNotifier()
    outcomes = cycle(
        store, registry, notifier, subscription("hostile-srv", pinned="1.0.0"), subscription()
    )
    assert [(o.name, o.version) for o in outcomes] == [("hostile-srv", None), (STRUTIL, "2.1.4")]
    assert "RecursionError" in (outcomes[0].error or "")
    assert versions(notifier.sent) == [(STRUTIL, "2.1.3", "2.1.4")]
