"""Verified, size-capped, cached downloads (HTTP faked with httpx.MockTransport)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from watcher.artifacts.fetch import Fetcher, choose_digest
from watcher.errors import (
    ArtifactTooLarge,
    FetchError,
    IntegrityMismatch,
    RegistryUnavailable,
)
from watcher.httpclient import RetryPolicy, make_client
from watcher.models import ArtifactKind, ArtifactRef

URL = "https://registry.example.invalid/demo/-/demo-1.0.0.tgz"
BODY = b"\x1f\x8b pretend tarball bytes " * 100


def digest(algo: str, data: bytes = BODY) -> str:
    return hashlib.new(algo, data).hexdigest()


def ref(digests: dict[str, str] | None = None, size: int | None = None) -> ArtifactRef:
    if digests is None:
        digests = {"sha512": digest("sha512")}
    return ArtifactRef(
        url=URL,
        filename="demo-1.0.0.tgz",
        kind=ArtifactKind.NPM_TARBALL,
        digests=digests,
        size=size,
    )


@dataclass
class Server:
    """A fake registry CDN that counts the requests it serves."""

    respond: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


def serve(body: bytes = BODY, status: int = 200) -> Server:
    return Server(lambda _request: httpx.Response(status, content=body))


def fetcher(server: Server, cache_dir: Path | None, max_bytes: int = 1 << 20) -> Fetcher:
    client = make_client(
        transport=httpx.MockTransport(server), retry=RetryPolicy(attempts=2, backoff=0)
    )
    return Fetcher(http=client, cache_dir=cache_dir, max_bytes=max_bytes)


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# --- digests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["sha512", "sha256", "sha1"])
def test_good_digest_passes(algo: str, tmp_path: Path) -> None:
    server = serve()
    assert fetcher(server, tmp_path).fetch(ref({algo: digest(algo)})) == BODY
    assert len(server.requests) == 1
    assert str(server.requests[0].url) == URL


@pytest.mark.parametrize(
    ("digests", "chosen"),
    [
        ({"sha1": "0" * 40, "sha256": "1" * 64, "sha512": "2" * 128}, "sha512"),
        ({"sha1": "0" * 40, "sha256": "1" * 64}, "sha256"),
        ({"md5": "0" * 32, "sha1": "0" * 40}, "sha1"),
        ({"SHA256": "A" * 64}, "sha256"),
    ],
)
def test_strongest_digest_is_chosen(digests: dict[str, str], chosen: str) -> None:
    algo, value = choose_digest(ref(digests))
    assert algo == chosen and value == value.lower()


def test_weaker_correct_digest_does_not_rescue_a_wrong_strong_one(tmp_path: Path) -> None:
    digests = {"sha512": digest("sha512", b"other"), "sha256": digest("sha256")}
    with pytest.raises(IntegrityMismatch):
        fetcher(serve(), tmp_path).fetch(ref(digests))


def test_mismatch_is_refused_and_not_cached(tmp_path: Path) -> None:
    expected = digest("sha512", b"what the registry promised")
    with pytest.raises(IntegrityMismatch) as caught:
        fetcher(serve(), tmp_path).fetch(ref({"sha512": expected}))
    message = str(caught.value)
    assert message.startswith("integrity check failed for demo-1.0.0.tgz: expected sha512 ")
    assert expected[:12] in message and digest("sha512")[:12] in message
    assert "\n" not in message
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "digests",
    [{}, {"md5": "0" * 32}, {"blake2b_256": "0" * 64}],
)
def test_no_digest_is_refused_without_downloading(digests: dict[str, str], tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(
        FetchError, match="refusing to use demo-1.0.0.tgz: the registry published no digest"
    ) as caught:
        fetcher(server, tmp_path).fetch(ref(digests))
    assert type(caught.value) is FetchError
    assert server.requests == []


@pytest.mark.parametrize("value", ["../../../../etc/passwd", "z" * 128, "ab" * 10, ""])
def test_malformed_digest_never_reaches_the_filesystem(value: str, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(FetchError, match="malformed sha512 digest"):
        fetcher(server, tmp_path / "cache").fetch(ref({"sha512": value}))
    assert server.requests == [] and list(tmp_path.iterdir()) == []


def test_uppercase_hex_is_accepted(tmp_path: Path) -> None:
    assert fetcher(serve(), tmp_path).fetch(ref({"sha256": digest("sha256").upper()})) == BODY


# --- cache ------------------------------------------------------------------------------------


def test_second_fetch_is_served_from_the_cache(tmp_path: Path) -> None:
    server = serve()
    first = fetcher(server, tmp_path)
    assert first.fetch(ref()) == BODY
    hexdigest = digest("sha512")
    entry = tmp_path / "sha512" / hexdigest[:2] / hexdigest
    assert files_under(tmp_path) == [entry]  # content-addressed; no temp files left behind
    assert entry.read_bytes() == BODY

    again = fetcher(server, tmp_path)  # a new process, same cache
    assert again.fetch(ref()) == BODY
    assert len(server.requests) == 1


def test_corrupt_cache_entry_is_replaced(tmp_path: Path) -> None:
    server = serve()
    hexdigest = digest("sha512")
    entry = tmp_path / "sha512" / hexdigest[:2] / hexdigest
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"bit rot")
    assert fetcher(server, tmp_path).fetch(ref()) == BODY
    assert len(server.requests) == 1
    assert entry.read_bytes() == BODY


def test_cache_can_be_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = serve()
    plain = fetcher(server, None)
    assert plain.fetch(ref()) == BODY and plain.fetch(ref()) == BODY
    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_does_not_stop_the_fetch(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_bytes(b"a file where the cache directory should be")
    server = serve()
    assert fetcher(server, blocker).fetch(ref()) == BODY
    assert fetcher(server, blocker).fetch(ref()) == BODY
    assert len(server.requests) == 2


# --- size caps and HTTP failures --------------------------------------------------------------


def test_over_cap_by_content_length(tmp_path: Path) -> None:
    server = serve(b"x" * 5000)
    with pytest.raises(ArtifactTooLarge, match="demo-1.0.0.tgz: 5000 bytes, over the 4096"):
        fetcher(server, tmp_path, max_bytes=4096).fetch(ref({"sha1": "0" * 40}))
    assert files_under(tmp_path) == []


def test_over_cap_while_streaming_without_content_length(tmp_path: Path) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            sent.append(index)
            yield b"x" * 1024

    def respond(_request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, content=chunks())
        assert "content-length" not in response.headers  # only the running count can stop it
        return response

    server = Server(respond)
    with pytest.raises(ArtifactTooLarge, match="more than 10240 bytes"):
        fetcher(server, tmp_path, max_bytes=10 * 1024).fetch(ref({"sha1": "0" * 40}))
    assert len(sent) <= 12  # stopped as soon as the cap was crossed
    assert files_under(tmp_path) == []


def test_exactly_at_the_cap_is_fine(tmp_path: Path) -> None:
    body = b"y" * 4096
    result = fetcher(serve(body), tmp_path, max_bytes=4096).fetch(
        ref({"sha1": digest("sha1", body)})
    )
    assert result == body


def test_registry_declared_size_over_cap_skips_the_download(tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(ArtifactTooLarge, match="registry lists 9999999 bytes"):
        fetcher(server, tmp_path, max_bytes=1000).fetch(ref(size=9_999_999))
    assert server.requests == []


@pytest.mark.parametrize("status", [404, 403, 410])
def test_http_error_status(status: int, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher(serve(b"not here", status=status), tmp_path).fetch(ref())
    assert type(caught.value) is FetchError
    assert f"cannot download demo-1.0.0.tgz: HTTP {status}" in str(caught.value)
    assert files_under(tmp_path) == []


def test_server_errors_exhaust_retries(tmp_path: Path) -> None:
    server = serve(b"", status=503)
    with pytest.raises(RegistryUnavailable):
        fetcher(server, tmp_path).fetch(ref())
    assert len(server.requests) == 2


def test_connection_dropped_mid_body(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise httpx.ReadError("connection reset")

    server = Server(lambda _request: httpx.Response(200, content=chunks()))
    with pytest.raises(FetchError, match="download of demo-1.0.0.tgz failed: ReadError"):
        fetcher(server, tmp_path).fetch(ref())
    assert files_under(tmp_path) == []


def test_redirects_are_followed_and_verified(tmp_path: Path) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host == "registry.example.invalid":
            return httpx.Response(302, headers={"Location": "https://cdn.example.invalid/t.tgz"})
        return httpx.Response(200, content=BODY)

    server = Server(respond)
    assert fetcher(server, tmp_path).fetch(ref()) == BODY
    assert [r.url.host for r in server.requests] == [
        "registry.example.invalid",
        "cdn.example.invalid",
    ]
