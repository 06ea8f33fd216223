"""Version parsing and ordering (npm semver, PEP 440) over arbitrary strings."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from watcher.models import Ecosystem
from watcher.registries import pypi
from watcher.watch import candidate_versions, version_key

#: Version-like strings (digits, dots, tags) mixed with arbitrary unicode.
VERSIONISH = st.from_regex(
    r"\A[v=\s]?\d{1,4}(\.\d{1,4}){0,3}([-+.]?[0-9A-Za-z.\-+_!]{0,12})?\Z", fullmatch=True
)
VERSION = VERSIONISH | st.text(max_size=24)
ECOSYSTEM = st.sampled_from(list(Ecosystem))


@FUZZ
@given(ECOSYSTEM, VERSION)
@example(Ecosystem.NPM, "1.0.0-\u00b2")  # a superscript digit: isdigit() but not int()
@example(Ecosystem.NPM, "\u0661.\u0662.\u0663")  # Arabic-Indic digits
@example(Ecosystem.PYPI, "1.0.0\u00b2")
def test_version_key_is_total(ecosystem: Ecosystem, version: str) -> None:
    key = version_key(ecosystem, version)
    if key is not None:
        order, prerelease = key
        assert isinstance(prerelease, bool)
        assert not order < order  # comparable with itself


@FUZZ
@given(ECOSYSTEM, st.lists(VERSION, max_size=6), VERSION)
def test_candidate_versions_orders_what_it_can(
    ecosystem: Ecosystem, versions: list[str], pin: str
) -> None:
    result = candidate_versions(ecosystem, versions, pin)
    assert set(result) <= set(versions)
    keys = [version_key(ecosystem, v) for v in result]
    assert all(k is not None for k in keys)
    orders = [k[0] for k in keys if k is not None]
    assert orders == sorted(orders)


@FUZZ
@given(st.lists(VERSION, max_size=6), VERSION)
def test_pypi_ordering_and_lookup(versions: list[str], wanted: str) -> None:
    times = dict.fromkeys(versions)
    ordered = pypi._order_versions(times)
    assert set(ordered) == set(versions)
    found = pypi._find_version(ordered, wanted)
    assert found is None or found in versions
    pypi._latest(ordered, {})
