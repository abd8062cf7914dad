"""Graceful restarts (SIGTERM) of a real wharf process.

What this proves:
* an upload session survives a graceful stop and start: GET status reports exactly the bytes
  acknowledged before the stop, PATCH continues from there (across two restarts), the final
  PUT (with the last chunk in its body) completes with the right digest, and the blob reads
  back byte for byte;
* a request in flight when SIGTERM arrives is finished, not cut: a slow monolithic blob PUT, a
  slow streamed PATCH (chunked transfer encoding, like docker's) and a slow manifest PUT all
  get their normal answer; the process then exits with status 0 and, after a restart, what
  those requests wrote is there.
Runs on each `backend` (SQLite; PostgreSQL where WHARF_TEST_PG_URL is set).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import requests

from test_crash import (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, MiB, RegistryClient, Throttled,
                        error_codes, parse_range, sha256, slow_stream)


def expect(r: requests.Response, status: int, what: str) -> None:
    assert r.status_code == status, (f"{what}: expected {status}, got {r.status_code} "
                                     f"{r.text[:400]!r}")


def expect_range(r: requests.Response, n: int, what: str) -> None:
    assert parse_range(r.headers.get("Range")) == n, (
        f"{what}: Range {r.headers.get('Range')!r}, expected 0-{n - 1}")


def test_upload_session_resumes_after_graceful_restart(wharf_factory, backend):
    srv = wharf_factory(backend=backend)
    repo = "restart/session"
    srv.create_repo(repo)
    data = os.urandom(5 * MiB + 4321)
    digest = sha256(data)
    a, b = 2 * MiB, 4 * MiB

    c = RegistryClient(srv)
    loc = c.start_upload(repo)
    r = c.patch(loc, data[:a], 0, a)
    expect(r, 202, "PATCH first chunk")
    expect_range(r, a, "PATCH first chunk")
    loc = c.location(r)

    assert srv.stop(signal.SIGTERM) == 0, f"graceful stop exit code\n{srv.log_tail()}"
    srv.start()

    c = RegistryClient(srv)
    r = c.status(loc)
    expect(r, 204, f"GET upload status after restart ({loc})")
    expect_range(r, a, "upload status after restart")
    loc = c.location(r) if r.headers.get("Location") else loc
    r = c.patch(loc, data[a:b], a, b - a)
    expect(r, 202, "PATCH second chunk after restart")
    expect_range(r, b, "PATCH second chunk")
    loc = c.location(r)

    assert srv.stop(signal.SIGTERM) == 0, f"graceful stop exit code\n{srv.log_tail()}"
    srv.start()

    c = RegistryClient(srv)
    r = c.status(loc)
    expect(r, 204, "GET upload status after second restart")
    expect_range(r, b, "upload status after second restart")
    loc = c.location(r) if r.headers.get("Location") else loc
    r = c.finish(loc, digest, body=data[b:], start=b, length=len(data) - b)
    expect(r, 201, "final PUT with the last chunk")
    assert r.headers.get("Docker-Content-Digest") == digest

    r = c.get_blob(repo, digest)
    expect(r, 200, "GET blob")
    assert r.content == data
    # the finished session is gone
    r = c.status(loc)
    expect(r, 404, "GET status of a finished session")
    assert "BLOB_UPLOAD_UNKNOWN" in error_codes(r), r.text


def _push_blob(c: RegistryClient, repo: str, data: bytes) -> str:
    loc = c.start_upload(repo)
    r = c.finish(loc, sha256(data), body=data)
    expect(r, 201, "PUT blob")
    return sha256(data)


@pytest.mark.parametrize("kind", ["blob-put", "streamed-patch", "manifest-put"])
def test_request_in_flight_during_sigterm_completes(wharf_factory, backend, kind):
    srv = wharf_factory(backend=backend)
    repo = "restart/inflight"
    srv.create_repo(repo)
    c = RegistryClient(srv)
    half = threading.Event()

    def progress(frac: float) -> None:
        if frac >= 0.3:
            half.set()

    data = os.urandom(4 * MiB + 99)
    digest = sha256(data)
    result: dict = {}

    if kind == "manifest-put":
        # a push whose last step (the manifest) is still arriving when SIGTERM comes
        layer = _push_blob(c, repo, data)
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
        config = _push_blob(c, repo, cfg)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": len(cfg)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": len(data)}],
            "annotations": {"pad": "x" * 2000},
        }, indent=2).encode()
        # ~2.5 KiB in 64-byte pieces, 40 ms apart: about 1.6 s on the wire
        body = Throttled(manifest, piece=64, delay=0.04, on_progress=progress)

        def send():
            result["r"] = c.put_manifest(repo, "inflight", body)
    elif kind == "blob-put":
        loc = c.start_upload(repo)
        # 4 MiB in 128 KiB pieces, 50 ms apart: about 1.6 s
        body = Throttled(data, piece=128 * 1024, delay=0.05, on_progress=progress)

        def send():
            result["r"] = c.finish(loc, digest, body=body)
    else:
        loc = c.start_upload(repo)

        def send():
            result["r"] = c.patch(loc, slow_stream(data, piece=128 * 1024, delay=0.05,
                                                   on_progress=progress))

    def guarded():
        try:
            send()
        except Exception as e:  # reported below
            result["e"] = e

    t = threading.Thread(target=guarded)
    t.start()
    assert half.wait(20), "the slow request never got going"
    stop_result: dict = {}
    stopper = threading.Thread(
        target=lambda: stop_result.setdefault("code", srv.stop(signal.SIGTERM, timeout=30)))
    t0 = time.monotonic()
    stopper.start()
    t.join(60)
    assert not t.is_alive(), "the in-flight request never finished"
    stopper.join(60)
    assert "e" not in result, (f"the request in flight during SIGTERM was cut: "
                               f"{result['e']!r}\n{srv.log_tail()}")
    r = result["r"]
    assert stop_result.get("code") == 0, (f"wharf exited with {stop_result.get('code')} after "
                                          f"SIGTERM\n{srv.log_tail()}")
    waited = time.monotonic() - t0

    if kind == "manifest-put":
        expect(r, 201, "manifest PUT in flight during SIGTERM")
        assert r.headers.get("Docker-Content-Digest") == sha256(manifest)
    elif kind == "blob-put":
        expect(r, 201, "blob PUT in flight during SIGTERM")
        assert r.headers.get("Docker-Content-Digest") == digest
    else:
        expect(r, 202, "streamed PATCH in flight during SIGTERM")
        expect_range(r, len(data), "streamed PATCH")
        loc = c.location(r)
    assert waited < 30, f"graceful shutdown took {waited:.1f}s"

    srv.start()
    c = RegistryClient(srv)
    if kind == "streamed-patch":
        r = c.status(loc)
        expect(r, 204, "upload status after restart")
        expect_range(r, len(data), "upload status after restart")
        loc = c.location(r) if r.headers.get("Location") else loc
        expect(c.finish(loc, digest), 201, "PUT ?digest after restart")
    r = c.get_blob(repo, digest)
    expect(r, 200, "GET blob after restart")
    assert r.content == data
    if kind == "manifest-put":
        r = c.get_manifest(repo, "inflight")
        expect(r, 200, "GET manifest after restart")
        assert r.content == manifest
