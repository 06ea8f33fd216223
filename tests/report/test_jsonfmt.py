"""The JSON report reads back into the same `Report` (the store and the outbox rely on it)."""

from __future__ import annotations

import json

import pytest

from tests.notify.reports import critical_report
from tests.support.stores import make_report
from watcher.models import Report
from watcher.report.jsonfmt import report_dict, report_from_dict


@pytest.mark.parametrize(
    "report",
    [critical_report(), make_report(), make_report(old=None)],
    ids=["critical", "one-finding", "first-release"],
)
def test_round_trip_through_json(report: Report) -> None:
    data = json.loads(json.dumps(report_dict(report)))
    assert report_from_dict(data) == report


def test_fingerprints_survive_the_round_trip() -> None:
    report = critical_report()
    again = report_from_dict(json.loads(json.dumps(report_dict(report))))
    assert [f.fingerprint for f in again.findings] == [f.fingerprint for f in report.findings]


def test_old_documents_without_later_keys_still_read() -> None:
    data = report_dict(make_report())
    for key in ("artifacts", "reasons", "rule_errors", "links"):
        del data[key]
    assert report_from_dict(data).package == "demo-mcp-server"


@pytest.mark.parametrize(
    "change", [{"schema": 2}, {"severity": "severe"}, {"package": None, "ecosystem": None}]
)
def test_foreign_or_malformed_documents_are_refused(change: dict[str, object]) -> None:
    data = {**report_dict(make_report()), **change}
    with pytest.raises(ValueError):
        report_from_dict(data)
