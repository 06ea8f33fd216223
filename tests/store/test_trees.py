"""Dependency trees and their documents in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.stores import make_report
from watcher.models import Ecosystem
from watcher.registries import Validators
from watcher.store import repo, trees
from watcher.store.db import Store
from watcher.tree.catalog import CachedDoc, NpmDeclared, PackageDoc
from watcher.tree.model import Tree, TreeEntry

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _tree(b: str = "2.0.0", *, floats: bool = True) -> Tree:
    return Tree(
        ecosystem=Ecosystem.NPM,
        root="@vendor/server",
        root_version="1.2.3",
        entries=(
            TreeEntry("a", "1.0.0", "a", "^1.0.0", ("@vendor/server@1.2.3",)),
            TreeEntry(
                "b",
                b,
                "b",
                "^2.0.0",
                ("@vendor/server@1.2.3", "a@^1.0.0"),
                kind="optional",
                condition="os: linux",
                floats=floats,
            ),
        ),
        gaps=("x@git+https://example.invalid/x: installs from outside the registry",),
    )


def test_tree_round_trip_and_replace(store: Store) -> None:
    session = store.session()
    try:
        assert trees.load_tree(session, Ecosystem.NPM, "@vendor/server") is None
        trees.save_tree(session, _tree(), "", now=T0)
        stored = trees.load_tree(session, Ecosystem.NPM, "@vendor/server")
        assert stored is not None
        assert stored.tree == _tree()
        assert (stored.registry, stored.stale, stored.resolved_at) == ("", False, T0)
        trees.save_tree(session, _tree("2.0.1"), "", now=T0)
        again = trees.load_tree(session, Ecosystem.NPM, "@vendor/server")
        assert again is not None and again.tree == _tree("2.0.1")
    finally:
        session.close()


def test_floating_packages_and_trees_with(store: Store) -> None:
    session = store.session()
    try:
        trees.save_tree(session, _tree(floats=False), "", now=T0)
        other = Tree(
            Ecosystem.NPM,
            "other",
            "1.0.0",
            (TreeEntry("b", "2.0.0", "b", "^2", ("other@1.0.0",)),),
        )
        trees.save_tree(session, other, "", now=T0)
        both = ["@vendor/server", "other"]
        assert trees.floating_packages(session, Ecosystem.NPM, "", both) == {"a", "b"}
        assert trees.floating_packages(session, Ecosystem.NPM, "", ["other"]) == {"b"}
        assert trees.floating_packages(session, Ecosystem.NPM, "https://x.invalid/", both) == set()
        assert trees.trees_with(session, Ecosystem.NPM, "", ["b"]) == {"other"}
        assert trees.trees_with(session, Ecosystem.NPM, "", ["a"]) == {"@vendor/server"}
        assert trees.trees_with(session, Ecosystem.NPM, "https://x.invalid/", ["a"]) == set()
        trees.mark_stale(session, Ecosystem.NPM, "@vendor/server")
        assert trees.trees_with(session, Ecosystem.NPM, "", []) == {"@vendor/server"}
        trees.save_tree(session, _tree(), "", now=T0)
        assert trees.trees_with(session, Ecosystem.NPM, "", []) == set()
    finally:
        session.close()


def test_documents_round_trip_with_validators(store: Store) -> None:
    doc = PackageDoc(
        name="b",
        versions={"2.0.0": T0, "2.0.1": None},
        tags={"latest": "2.0.1"},
        declared={
            "2.0.0": NpmDeclared(),
            "2.0.1": NpmDeclared(
                dependencies={"c": "^1"},
                optional={"d": "1"},
                peer={"e": "*"},
                optional_peers=frozenset({"f"}),
                os=("linux",),
                cpu=("x64",),
            ),
        },
    )
    session = store.session()
    try:
        trees.save_documents(
            session, Ecosystem.NPM, "", {"b": CachedDoc(doc, Validators('W/"1"', None))}, now=T0
        )
        assert trees.load_documents(session, Ecosystem.NPM, "") == {
            "b": CachedDoc(doc, Validators('W/"1"', None))
        }
        assert trees.document_validators(session, Ecosystem.NPM, "") == {
            "b": Validators('W/"1"', None)
        }
        trees.save_documents(
            session, Ecosystem.NPM, "", {"b": CachedDoc(doc, Validators('W/"2"', None))}, now=T0
        )
        assert trees.load_documents(session, Ecosystem.NPM, "", ["b", "zz"])["b"].validators == (
            Validators('W/"2"', None)
        )
        assert trees.load_documents(session, Ecosystem.PYPI, "") == {}
    finally:
        session.close()


def test_one_owner_at_a_time_follows_a_registrys_trees(store: Store) -> None:
    session = store.session()
    try:
        assert trees.claim_tree_cycle(session, Ecosystem.NPM, "", "a", T0)
        # Another instance while the lease is live: skipped, due or not.
        assert not trees.claim_tree_cycle(session, Ecosystem.NPM, "", "b", T0, due_only=False)
        # Another registry is free.
        assert trees.claim_tree_cycle(session, Ecosystem.NPM, "https://x.invalid/", "b", T0)
        trees.finish_tree_cycle(session, Ecosystem.NPM, "", "a", T0 + timedelta(minutes=15))
        # Not due yet for the daemon; `check` (not due_only) may go.
        later = T0 + timedelta(minutes=1)
        assert not trees.claim_tree_cycle(session, Ecosystem.NPM, "", "b", later)
        assert trees.claim_tree_cycle(session, Ecosystem.NPM, "", "b", later, due_only=False)
        # A crashed holder's lease expires.
        assert trees.claim_tree_cycle(session, Ecosystem.NPM, "", "a", T0 + timedelta(hours=1))
    finally:
        session.close()


def test_concurrent_claims_give_the_trees_to_one_instance(store: Store) -> None:
    barrier = threading.Barrier(4)
    won: list[str] = []

    def claim(owner: str) -> None:
        session = store.session()
        try:
            barrier.wait()
            if trees.claim_tree_cycle(session, Ecosystem.NPM, "", owner, T0):
                won.append(owner)
        finally:
            session.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_dependency_releases_are_listed_and_gate_while_installed(store: Store) -> None:
    session = store.session()
    try:
        record = repo.record_analysis_with_alerts(
            session, make_report("b", "2.0.0", "2.0.1"), ["slack:#sec"], "rules-1", now=T0
        )
        path = "@vendor/server@1.2.3 → a@^1.0.0 → b 2.0.0 → 2.0.1"
        for _ in range(2):  # a second cycle (or instance) links nothing twice
            trees.record_dependency_releases(
                session, Ecosystem.NPM, record.id, [("@vendor/server", path)], now=T0
            )
        [entry] = trees.dependency_history(session, Ecosystem.NPM, "@vendor/server")
        assert (entry.package, entry.path) == ("b", path)
        assert (entry.analysis.old_version, entry.analysis.new_version) == ("2.0.0", "2.0.1")
        assert [a.channel for a in entry.analysis.alerts] == ["slack:#sec"]

        trees.save_tree(session, _tree("2.0.1"), "", now=T0)
        [installed] = trees.installed_dependency_releases(
            session, Ecosystem.NPM, ["@vendor/server"], "rules-1"
        )
        assert (installed.package, installed.new_version, installed.path) == ("b", "2.0.1", path)
        assert (
            trees.installed_dependency_releases(
                session, Ecosystem.NPM, ["@vendor/server"], "rules-2"
            )
            == []
        )
        # Approved after review: no longer a failure, though still installed.
        repo.approve(session, Ecosystem.NPM, "b", "2.0.1", "alice", now=T0)
        assert (
            trees.installed_dependency_releases(
                session, Ecosystem.NPM, ["@vendor/server"], "rules-1"
            )
            == []
        )
        trees.save_tree(session, _tree("2.0.1"), "", now=T0)
        # The tree moved past it: no longer installed, no longer a failure.
        trees.save_tree(session, _tree("2.0.2"), "", now=T0)
        assert (
            trees.installed_dependency_releases(
                session, Ecosystem.NPM, ["@vendor/server"], "rules-1"
            )
            == []
        )
    finally:
        session.close()


def test_paths_to_name_how_each_tree_installs_a_release(store: Store) -> None:
    session = store.session()
    try:
        trees.save_tree(session, _tree(), "", now=T0)
        assert trees.paths_to(session, Ecosystem.NPM, "b", "2.0.0", "2.0.1") == (
            "@vendor/server@1.2.3 → a@^1.0.0 → b 2.0.0 → 2.0.1",
        )
        # Another version, another package, another ecosystem: no tree installs it.
        assert trees.paths_to(session, Ecosystem.NPM, "b", "1.9.0", "2.0.1") == ()
        assert trees.paths_to(session, Ecosystem.PYPI, "b", "2.0.0", "2.0.1") == ()
    finally:
        session.close()


def test_diff_of_a_dependency_release_names_the_paths_from_an_existing_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watcher import cli

    session = store.session()
    try:
        trees.save_tree(session, _tree(), "", now=T0)
    finally:
        session.close()
    monkeypatch.setenv("WATCHER_DB_URL", store.engine.url.render_as_string(hide_password=False))
    report = make_report("b", "2.0.0", "2.0.1")
    assert cli._installed_through(report) == ("@vendor/server@1.2.3 → a@^1.0.0 → b 2.0.0 → 2.0.1",)
    monkeypatch.delenv("WATCHER_DB_URL")
    monkeypatch.setenv("WATCHER_DATA_DIR", "/nonexistent/watcher-data")
    assert cli._installed_through(report) == ()  # no store: nothing read, nothing created
