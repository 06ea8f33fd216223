"""Recording many releases at once, for registries that give no publish time (issue 11)."""

from __future__ import annotations

from datetime import timedelta

from tests.store.conftest import T0, count
from watcher.models import Ecosystem
from watcher.store import repo
from watcher.store.db import Store
from watcher.store.tables import VERSION_LEN

NPM = Ecosystem.NPM


def test_first_seen_is_kept_and_an_unknown_publish_time_filled(store: Store) -> None:
    later = T0 + timedelta(hours=1)
    published = T0 - timedelta(days=3)
    with store.session() as s:
        first = repo.record_releases_seen(s, NPM, "a", {"1.0.0": None, "1.0.1": None}, now=T0)
        again = repo.record_releases_seen(
            s, NPM, "a", {"1.0.1": published, "1.0.2": None}, now=later
        )
        assert repo.seen_releases(s, NPM, "a") == again
    assert {v: r.first_seen_at for v, r in first.items()} == {"1.0.0": T0, "1.0.1": T0}
    assert again == {
        "1.0.0": repo.SeenRelease("1.0.0", T0, None),
        "1.0.1": repo.SeenRelease("1.0.1", T0, published),
        "1.0.2": repo.SeenRelease("1.0.2", later, None),
    }
    assert count(store, "releases") == 3


def test_a_version_too_long_for_the_store_is_left_out(store: Store) -> None:
    with store.session() as s:
        seen = repo.record_releases_seen(s, NPM, "a", {"1" * (VERSION_LEN + 1): None}, now=T0)
    assert seen == {}
