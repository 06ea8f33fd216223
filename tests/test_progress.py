"""The core reports progress through `watcher.progress` and knows nothing of who shows it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.artifacts.test_fetch import BODY, fetcher, ref, serve
from watcher.progress import Advance, Step, reporter, reporting


@dataclass
class Recorder:
    """Keeps what it is told, in order."""

    events: list[tuple[str, object, object]] = field(default_factory=list)

    @contextlib.contextmanager
    def download(self, name: str, total: int | None) -> Iterator[Advance]:
        self.events.append(("start", name, total))
        yield lambda nbytes: self.events.append(("bytes", name, nbytes))
        self.events.append(("end", name, None))

    @contextlib.contextmanager
    def steps(self, total: int) -> Iterator[Step]:
        self.events.append(("steps", total, None))
        yield lambda done, what: self.events.append(("step", done, what))


def test_a_download_reports_its_name_size_and_every_byte(tmp_path: Path) -> None:
    recorder = Recorder()
    with reporting(recorder):
        data = fetcher(serve(), tmp_path).fetch(ref(size=len(BODY)))
    assert data == BODY
    assert recorder.events[0] == ("start", "demo-1.0.0.tgz", len(BODY))
    assert recorder.events[-1] == ("end", "demo-1.0.0.tgz", None)
    received = [n for kind, _, n in recorder.events if kind == "bytes" and isinstance(n, int)]
    assert sum(received) == len(BODY)

    # A cached artifact is not downloaded, so there is nothing to report.
    recorder.events.clear()
    with reporting(recorder):
        fetcher(serve(), tmp_path).fetch(ref(size=len(BODY)))
    assert recorder.events == []


def test_outside_a_front_ends_block_nothing_is_reported(tmp_path: Path) -> None:
    recorder = Recorder()
    with reporting(recorder):
        pass
    # The default reporter takes everything and shows nothing.
    assert fetcher(serve(), tmp_path).fetch(ref()) == BODY
    assert recorder.events == []
    with reporter().steps(3) as step:
        step(0, "anything")
