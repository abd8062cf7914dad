"""Crash safety: SIGKILL a real wharf process at random moments during pushes and deletes.

A small push client of our own (requests) runs a few worker threads against a private wharf
server. They push images (random 1-8 MiB layers, monolithic and chunked/streamed uploads,
then a manifest PUT under a unique tag) and delete some of the images they pushed. A killer
thread SIGKILLs the server at a random moment, or right after a worker enters a given phase
(mid-upload body, chunked-upload finalisation, manifest PUT, manifest DELETE). The server is
restarted on the same data dir / database, and then:

* every acknowledged write is there: a blob whose upload got 201 is readable with the right
  bytes (sha256 recomputed), a manifest whose PUT got 201 is served byte for byte under its
  digest and its tag; an acknowledged DELETE stays deleted;
* nothing is half-visible: an unacknowledged blob either 404s or has its full, correct content;
  an unacknowledged manifest PUT or DELETE is all-or-nothing (digest and tag agree), and every
  tag that resolves (or is listed) points at a complete manifest whose blobs are all there;
* an interrupted upload session either resumes (GET gives a Range covering at least what was
  acknowledged, PATCH from there, PUT completes with the right digest) or is cleanly unknown
  (404 BLOB_UPLOAD_UNKNOWN).

Runs on each `backend` (SQLite; PostgreSQL where WHARF_TEST_PG_URL is set). Knobs:
WHARF_CRASH_SEED, WHARF_CRASH_ITERATIONS (default 40), WHARF_CRASH_SECONDS (default 40 per
backend). The seed is printed, and is in every failure message.

The small client here (Throttled, RegistryClient) is also used by test_restart.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from ocihelp import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, TIMEOUT, error_codes, sha256, with_query

MiB = 1024 * 1024

# errors that mean "the server went away while we talked to it"
GONE = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def parse_range(value: str | None) -> int | None:
    """'0-N' -> N+1 bytes received (also accepts a 'bytes=' prefix). '0-0' counts as 0: our
    chunks are at least 1 MiB, so a one-byte session never happens here."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(?:bytes=)?0-(\d+)\s*", value)
    if not m:
        raise ValueError(f"malformed Range header {value!r}")
    n = int(m.group(1))
    return 0 if n == 0 else n + 1


class Throttled:
    """A request body with a known length that is read slowly (piece by piece), so that a
    kill can land in the middle of it. `on_progress(fraction)` is called as it is read."""

    def __init__(self, data: bytes, piece: int = 256 * 1024, delay: float = 0.01,
                 on_progress=None):
        self.data = data
        self.pos = 0
        self.piece = piece
        self.delay = delay
        self.on_progress = on_progress
        self._next_pause = piece

    def __len__(self) -> int:
        return len(self.data)

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self._next_pause:
            self._next_pause += self.piece
            if self.on_progress:
                self.on_progress(self.pos / max(1, len(self.data)))
            time.sleep(self.delay)
        if n is None or n < 0:
            n = len(self.data) - self.pos
        n = min(n, self._next_pause - self.pos, len(self.data) - self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def slow_stream(data: bytes, piece: int = 256 * 1024, delay: float = 0.01, on_progress=None):
    """A generator body (sent with Transfer-Encoding: chunked, like docker's PATCH)."""
    for i in range(0, len(data), piece):
        if i and on_progress:
            on_progress(i / len(data))
        yield data[i:i + piece]
        time.sleep(delay)


class RegistryClient:
    """Minimal Distribution API client for a WharfServer, authenticated as its administrator
    (one per thread; the token outlives restarts)."""

    def __init__(self, wharf):
        self.base = wharf.url.rstrip("/")
        self.s = requests.Session()
        self.s.auth = wharf.auth

    def url(self, u: str) -> str:
        return u if u.startswith(("http://", "https://")) else urljoin(self.base + "/", u)

    def req(self, method: str, u: str, **kw) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.url(u), **kw)

    def location(self, r: requests.Response) -> str:
        loc = r.headers.get("Location")
        assert loc, f"{r.request.method} {r.request.url} -> {r.status_code} without Location"
        return urljoin(r.url, loc)

    def start_upload(self, repo: str) -> str:
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        assert r.status_code == 202, f"POST upload: {r.status_code} {r.text[:300]}"
        return self.location(r)

    def status(self, loc: str) -> requests.Response:
        return self.req("GET", loc)

    def patch(self, loc: str, body, start: int | None = None, length: int | None = None,
              ) -> requests.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if start is not None:
            headers["Content-Range"] = f"{start}-{start + length - 1}"
        return self.req("PATCH", loc, data=body, headers=headers)

    def finish(self, loc: str, digest: str, body=b"", start: int | None = None,
               length: int | None = None) -> requests.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if start is not None and length:
            headers["Content-Range"] = f"{start}-{start + length - 1}"
        return self.req("PUT", with_query(loc, digest=digest), data=body, headers=headers)

    def get_blob(self, repo: str, digest: str, method: str = "GET") -> requests.Response:
        return self.req(method, f"/v2/{repo}/blobs/{digest}")

    def put_manifest(self, repo: str, ref: str, body: bytes, mt: str = OCI_MANIFEST):
        return self.req("PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                        headers={"Content-Type": mt})

    def get_manifest(self, repo: str, ref: str, method: str = "GET") -> requests.Response:
        return self.req(method, f"/v2/{repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST})

    def tags(self, repo: str) -> list[str]:
        out, u = [], f"/v2/{repo}/tags/list"
        for _ in range(1000):
            r = self.req("GET", u)
            assert r.status_code == 200, f"tags/list: {r.status_code} {r.text[:300]}"
            out += r.json().get("tags") or []
            link = r.headers.get("Link")
            if not link:
                return out
            m = re.match(r"\s*<([^>]+)>", link)
            assert m, f"bad Link header {link!r}"
            u = urljoin(r.url, m.group(1))
        raise AssertionError("tags/list pagination does not end")


# --------------------------------------------------------------------------- the ledger
@dataclass
class BlobRec:
    digest: str
    size: int
    acked: bool = False          # the upload got 201
    owner: "ManRec | None" = None
    checked_full: bool = False   # content verified once since it became final


@dataclass
class ManRec:
    digest: str
    body: bytes
    tag: str
    blobs: list[BlobRec]
    acked: bool = False          # the PUT got 201
    deleted: str | None = None   # None | "maybe" (DELETE sent, no answer) | "acked" (202)
    checked_full: bool = False
    deleting: bool = False       # a worker picked it for deletion
    counted: bool = False        # an interrupted PUT/DELETE counted in the stats


@dataclass
class SessRec:
    loc: str
    data: bytes
    digest: str
    acked: int                   # bytes the server acknowledged (202 Range) before the kill
    rec: BlobRec
    phase: str = "opened"        # the request in flight at the kill: patch | put


@dataclass
class Ctx:
    repo: str
    srv: object                  # the WharfServer
    rng: random.Random
    seed: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    blobs: list[BlobRec] = field(default_factory=list)
    manifests: list[ManRec] = field(default_factory=list)
    sessions: list[SessRec] = field(default_factory=list)  # interrupted, to resume
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # allowed but noteworthy
    stats: dict = field(default_factory=dict)           # what the kills produced
    # per iteration
    iteration: int = 0
    kill_on: str = "random"
    killed: threading.Event = field(default_factory=threading.Event)
    trigger: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def signal(self, phase: str) -> None:
        if self.kill_on == phase:
            self.trigger.set()

    def count(self, what: str) -> None:
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1

    def problem(self, msg: str) -> None:
        with self.lock:
            self.problems.append(f"[iteration {self.iteration}, kill_on={self.kill_on}, "
                                 f"seed={self.seed}] {msg}")


class Gone(Exception):
    """The server was killed under a request."""


UPLOAD_MODES = ("post", "put", "chunked", "stream")


class Worker(threading.Thread):
    def __init__(self, ctx: Ctx, wid: int):
        super().__init__(daemon=True, name=f"crash-worker-{wid}")
        self.ctx = ctx
        self.wid = wid
        self.rng = random.Random(ctx.rng.random())
        self.c = RegistryClient(ctx.srv)
        self.n = 0
        self.open_session: SessRec | None = None

    # -- plumbing
    def call(self, fn, *a, **kw) -> requests.Response:
        try:
            return fn(*a, **kw)
        except GONE as e:
            if self.ctx.killed.is_set():
                raise Gone() from e
            raise AssertionError(f"connection failed while the server was up: {e!r}") from e

    def expect(self, r: requests.Response, status: int, what: str) -> None:
        if r.status_code != status:
            raise AssertionError(f"{what}: expected {status}, got {r.status_code} "
                                 f"{r.text[:300]!r}")

    def run(self) -> None:
        try:
            while not self.ctx.stop.is_set():
                if self.ctx.kill_on == "delete" or self.rng.random() < 0.2:
                    self.maybe_delete()
                self.push_image()
        except Gone:
            pass
        except Exception as e:  # a wrong answer from a live server
            self.ctx.problem(f"worker {self.wid}: {e}\n{traceback.format_exc(limit=4)}")
        finally:
            if self.open_session is not None:
                with self.ctx.lock:
                    self.ctx.sessions.append(self.open_session)

    # -- blobs
    def progress(self, frac: float) -> None:
        if frac >= 0.25:
            self.ctx.signal("upload")

    def upload_blob(self, data: bytes, mode: str) -> BlobRec:
        ctx, c, repo = self.ctx, self.c, self.ctx.repo
        digest = sha256(data)
        rec = BlobRec(digest, len(data))
        with ctx.lock:
            ctx.blobs.append(rec)
        if mode == "post":  # single POST with the whole body
            r = self.call(c.req, "POST", with_query(f"/v2/{repo}/blobs/uploads/", digest=digest),
                          data=Throttled(data, on_progress=self.progress),
                          headers={"Content-Type": "application/octet-stream"})
            if r.status_code == 201:
                self.check_final(r, digest)
                rec.acked = True
                return rec
            # a registry MAY ignore the digest and open a session: PUT the body
            self.expect(r, 202, f"POST ?digest {digest}")
            loc = c.location(r)
            mode = "put"
        else:
            loc = self.call(c.start_upload, repo)
        sess = SessRec(loc, data, digest, 0, rec)
        self.open_session = sess
        if mode == "put":
            sess.phase = "put"
            r = self.call(c.finish, loc, digest, body=Throttled(data, on_progress=self.progress))
        elif mode == "chunked":
            off = 0
            while off < len(data):
                n = min(len(data) - off, self.rng.randint(1, 3) * MiB + self.rng.randint(0, 4096))
                last = off + n == len(data)
                if last and self.rng.random() < 0.5:
                    break  # send the final chunk with the PUT
                sess.phase = "patch"
                r = self.call(c.patch, loc, Throttled(data[off:off + n],
                                                      on_progress=self.progress), off, n)
                self.expect(r, 202, f"PATCH {off}-{off + n - 1}")
                got = parse_range(r.headers.get("Range"))
                if got != off + n:
                    raise AssertionError(f"PATCH {off}-{off + n - 1}: Range "
                                         f"{r.headers.get('Range')!r}, expected 0-{off + n - 1}")
                off += n
                sess.acked = off
                loc = sess.loc = c.location(r)
            ctx.signal("finalize")
            sess.phase = "put"
            rest = data[off:]
            r = self.call(c.finish, loc, digest, body=rest, start=off if rest else None,
                          length=len(rest))
        else:  # stream: one PATCH with a chunked transfer-encoded body, then PUT
            sess.phase = "patch"
            r = self.call(c.patch, loc, slow_stream(data, on_progress=self.progress))
            self.expect(r, 202, "streamed PATCH")
            got = parse_range(r.headers.get("Range"))
            if got != len(data):
                raise AssertionError(f"streamed PATCH of {len(data)} bytes: Range "
                                     f"{r.headers.get('Range')!r}")
            sess.acked = len(data)
            loc = sess.loc = c.location(r)
            ctx.signal("finalize")
            sess.phase = "put"
            r = self.call(c.finish, loc, digest)
        self.expect(r, 201, f"PUT ?digest={digest} ({mode})")
        self.check_final(r, digest)
        rec.acked = True
        self.open_session = None
        return rec

    def check_final(self, r: requests.Response, digest: str) -> None:
        got = r.headers.get("Docker-Content-Digest")
        if got is not None and got != digest:
            raise AssertionError(f"blob upload answered Docker-Content-Digest {got}, "
                                 f"pushed {digest}")

    # -- images
    def push_image(self) -> None:
        ctx = self.ctx
        self.n += 1
        layers = []
        for _ in range(self.rng.randint(1, 2)):
            size = self.rng.randint(1 * MiB, 8 * MiB)
            layers.append(self.upload_blob(os.urandom(size), self.rng.choice(UPLOAD_MODES)))
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Labels": {"nonce": os.urandom(8).hex()}},
                          "rootfs": {"type": "layers",
                                     "diff_ids": [l.digest for l in layers]}}).encode()
        config = self.upload_blob(cfg, self.rng.choice(("post", "put")))
        body = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": config.size},
            "layers": [{"mediaType": OCI_LAYER, "digest": l.digest, "size": l.size}
                       for l in layers],
        }, indent=1).encode()
        tag = f"w{self.wid}-i{ctx.iteration}-{self.n}"
        m = ManRec(sha256(body), body, tag, [config, *layers])
        with ctx.lock:
            for b in m.blobs:
                b.owner = m
            ctx.manifests.append(m)
        ctx.signal("manifest")
        r = self.call(self.c.put_manifest, ctx.repo, tag, body)
        self.expect(r, 201, f"PUT manifest {tag}")
        got = r.headers.get("Docker-Content-Digest")
        if got != m.digest:
            raise AssertionError(f"manifest PUT answered Docker-Content-Digest {got!r}, "
                                 f"expected {m.digest}")
        m.acked = True

    def maybe_delete(self) -> None:
        ctx = self.ctx
        with ctx.lock:
            cands = [m for m in ctx.manifests if m.acked and m.deleted is None and not m.deleting]
            if not cands:
                return
            m = self.rng.choice(cands)
            m.deleting = True
            m.deleted = "maybe"
        ctx.signal("delete")
        r = self.call(self.c.req, "DELETE", f"/v2/{ctx.repo}/manifests/{m.digest}")
        self.expect(r, 202, f"DELETE manifest {m.digest}")
        m.deleted = "acked"


# --------------------------------------------------------------------------- verification
class Verifier:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.c = RegistryClient(ctx.srv)

    def bad(self, msg: str) -> None:
        self.ctx.problem(msg)

    def blob_must_exist(self, b: BlobRec) -> bool:
        # a deleted image's layers may be garbage-collected: only require blobs whose image
        # was not (maybe) deleted
        return b.acked and (b.owner is None or b.owner.deleted is None)

    def fetch_blob(self, b: BlobRec) -> int:
        """GET the blob; 200 must be the full correct content. Returns the status."""
        r = self.c.get_blob(self.ctx.repo, b.digest)
        if r.status_code == 200:
            if len(r.content) != b.size or sha256(r.content) != b.digest:
                self.bad(f"blob {b.digest} ({b.size} bytes) served {len(r.content)} bytes "
                         f"hashing to {sha256(r.content)} (acked={b.acked})")
        elif r.status_code == 404:
            if "BLOB_UNKNOWN" not in error_codes(r):
                self.bad(f"blob {b.digest}: 404 without BLOB_UNKNOWN: {r.text[:200]!r}")
        else:
            self.bad(f"GET blob {b.digest}: unexpected {r.status_code} {r.text[:200]!r}")
        return r.status_code

    def head_blob(self, b: BlobRec) -> int:
        r = self.c.get_blob(self.ctx.repo, b.digest, method="HEAD")
        if r.status_code == 200:
            cl = r.headers.get("Content-Length")
            if cl is not None and int(cl) != b.size:
                self.bad(f"HEAD blob {b.digest}: Content-Length {cl}, size {b.size}")
        elif r.status_code != 404:
            self.bad(f"HEAD blob {b.digest}: unexpected {r.status_code}")
        return r.status_code

    def resume_sessions(self) -> None:
        ctx = self.ctx
        sessions, ctx.sessions = ctx.sessions, []
        for s in sessions:
            try:
                self.resume(s)
            except GONE as e:
                self.bad(f"resuming session {s.loc}: connection failed: {e!r}")

    def resume(self, s: SessRec) -> None:
        c = self.c
        r = c.status(s.loc)
        self.ctx.count(f"session-{r.status_code}")
        if r.status_code == 404:
            if "BLOB_UPLOAD_UNKNOWN" not in error_codes(r):
                self.bad(f"interrupted session {s.loc}: 404 without BLOB_UPLOAD_UNKNOWN: "
                         f"{r.text[:200]!r}")
            if s.acked > 0 and self.c.get_blob(self.ctx.repo, s.digest, "HEAD").status_code != 200:
                # allowed (a client starts over), but worth knowing
                self.ctx.notes.append(
                    f"session with {s.acked} of {len(s.data)} bytes acknowledged, killed during "
                    f"its {s.phase}: 404 BLOB_UPLOAD_UNKNOWN after restart and the blob absent")
            return  # the blob itself is checked as an unacknowledged blob
        if r.status_code != 204:
            self.bad(f"GET upload status {s.loc}: expected 204 or 404, got {r.status_code} "
                     f"{r.text[:200]!r}")
            return
        try:
            off = parse_range(r.headers.get("Range"))
        except ValueError as e:
            self.bad(f"upload status {s.loc}: {e}")
            return
        if off is None:
            self.bad(f"upload status {s.loc}: 204 without Range header")
            return
        if off > len(s.data):
            self.bad(f"upload status {s.loc}: Range says {off} bytes, blob has {len(s.data)}")
            return
        if off < s.acked:
            # allowed (the client resumes from Range), but worth knowing
            self.ctx.notes.append(f"session resumed at byte {off} after kill -9 during its "
                                  f"{s.phase}, but {s.acked} bytes had been acknowledged")
        loc = c.location(r) if r.headers.get("Location") else s.loc
        if off < len(s.data):
            rest = s.data[off:]
            r = c.patch(loc, rest, off, len(rest))
            if r.status_code != 202:
                self.bad(f"resume PATCH {off}-{len(s.data) - 1} on {loc}: {r.status_code} "
                         f"{r.text[:200]!r}")
                return
            if parse_range(r.headers.get("Range")) != len(s.data):
                self.bad(f"resume PATCH: Range {r.headers.get('Range')!r}, expected "
                         f"0-{len(s.data) - 1}")
            loc = c.location(r)
        r = c.finish(loc, s.digest)
        if r.status_code != 201:
            self.bad(f"resume PUT ?digest={s.digest} on {loc}: {r.status_code} "
                     f"{r.text[:300]!r} (resumed from byte {off}, {s.acked} acked before kill)")
            return
        s.rec.acked = True
        s.rec.checked_full = False
        self.ctx.count("session-resumed")

    def check(self, final: bool = False) -> None:
        self.c = RegistryClient(self.ctx.srv)  # no pooled connection from before the restart
        ctx, c, repo = self.ctx, self.c, self.ctx.repo
        self.resume_sessions()

        for b in ctx.blobs:
            if self.blob_must_exist(b):
                if final or not b.checked_full:
                    st = self.fetch_blob(b)
                    b.checked_full = True
                else:
                    st = self.head_blob(b)
                if st != 200:
                    self.bad(f"acknowledged blob {b.digest} ({b.size} bytes) is missing after "
                             f"restart: {st}")
            elif final or not b.checked_full:
                # unacknowledged (or its image deleted): absent or complete
                st = self.fetch_blob(b)
                if not b.checked_full and not b.acked:
                    ctx.count(f"unacked-blob-{'present' if st == 200 else 'absent'}")
                b.checked_full = True
            else:
                self.head_blob(b)

        for m in ctx.manifests:
            self.check_manifest(m, final)

        try:
            listed = c.tags(repo)
        except AssertionError as e:
            self.bad(str(e))
            return
        by_tag = {m.tag: m for m in ctx.manifests}
        for t in listed:
            m = by_tag.get(t)
            if m is None:
                self.bad(f"tags/list has {t!r}, which nobody pushed")
                continue
            if m.deleted == "acked":
                self.bad(f"tags/list still has {t!r}, whose manifest was deleted (202)")
            elif not m.acked or m.deleted == "maybe":
                r = c.get_manifest(repo, t)
                if r.status_code != 200:
                    self.bad(f"tags/list has {t!r} but GET manifests/{t} -> {r.status_code}")
        for m in ctx.manifests:
            if m.acked and m.deleted is None and m.tag not in listed:
                self.bad(f"acknowledged tag {m.tag} missing from tags/list")

    def check_manifest(self, m: ManRec, final: bool) -> None:
        c, repo = self.c, self.ctx.repo
        if m.deleted == "acked":
            for ref in (m.digest, m.tag):
                r = c.get_manifest(repo, ref, method="HEAD")
                if r.status_code != 404:
                    self.bad(f"deleted manifest {m.tag} ({m.digest}): HEAD {ref} -> "
                             f"{r.status_code}, expected 404")
            return
        if m.acked and m.deleted is None and m.checked_full and not final:
            r = c.get_manifest(repo, m.tag, method="HEAD")
            if r.status_code != 200 or r.headers.get("Docker-Content-Digest") != m.digest:
                self.bad(f"acknowledged tag {m.tag}: HEAD -> {r.status_code} "
                         f"{r.headers.get('Docker-Content-Digest')}, expected {m.digest}")
            return
        rd = c.get_manifest(repo, m.digest)
        rt = c.get_manifest(repo, m.tag)
        for r, ref in ((rd, m.digest), (rt, m.tag)):
            if r.status_code == 200:
                if r.content != m.body:
                    self.bad(f"manifest {ref}: served bytes differ from the pushed ones "
                             f"({sha256(r.content)} vs {m.digest})")
                if r.headers.get("Docker-Content-Digest") != m.digest:
                    self.bad(f"manifest {ref}: Docker-Content-Digest "
                             f"{r.headers.get('Docker-Content-Digest')}, expected {m.digest}")
            elif r.status_code == 404:
                if "MANIFEST_UNKNOWN" not in error_codes(r):
                    self.bad(f"manifest {ref}: 404 without MANIFEST_UNKNOWN {r.text[:200]!r}")
            else:
                self.bad(f"GET manifest {ref}: unexpected {r.status_code} {r.text[:200]!r}")
        present = rd.status_code == 200
        if m.acked and m.deleted is None:
            if rd.status_code != 200 or rt.status_code != 200:
                self.bad(f"acknowledged manifest {m.tag} ({m.digest}) lost after restart: "
                         f"by digest {rd.status_code}, by tag {rt.status_code}")
            m.checked_full = True
        else:  # an interrupted PUT or DELETE: all or nothing
            what = "DELETE" if m.deleted == "maybe" else "PUT"
            if not m.counted:
                m.counted = True
                self.ctx.count(f"unacked-manifest-{what}-{'present' if present else 'absent'}")
            if (rd.status_code == 200) != (rt.status_code == 200):
                self.bad(f"interrupted manifest {what} of {m.tag} ({m.digest}) is "
                         f"half-visible: by digest {rd.status_code}, by tag {rt.status_code}")
        if present or rt.status_code == 200:
            # a visible manifest is complete: every blob it references is there
            for b in m.blobs:
                if self.head_blob(b) != 200:
                    self.bad(f"visible manifest {m.tag} ({m.digest}) references blob "
                             f"{b.digest}, which is missing")


# --------------------------------------------------------------------------- the test
KILL_MODES = ("random", "upload", "finalize", "manifest", "delete", "random")


def kill_at_moment(ctx: Ctx, srv) -> None:
    rng = ctx.rng
    if ctx.kill_on == "random":
        time.sleep(rng.uniform(0.05, 0.8))
    else:
        ctx.trigger.wait(timeout=3.0)
        time.sleep(rng.uniform(0, 0.004) if ctx.kill_on in ("manifest", "delete")
                   else rng.uniform(0, 0.03))
    ctx.killed.set()
    srv.kill()


def test_sigkill_during_pushes(wharf_factory, backend):
    seed = int(os.environ.get("WHARF_CRASH_SEED") or random.SystemRandom().randrange(1 << 32))
    iterations = int(os.environ.get("WHARF_CRASH_ITERATIONS") or 40)
    budget = float(os.environ.get("WHARF_CRASH_SECONDS") or 40)
    print(f"crash test: backend={backend} seed={seed} (WHARF_CRASH_SEED to replay)")

    srv = wharf_factory(backend=backend)
    repo = "crash/images"
    srv.create_repo(repo)
    ctx = Ctx(repo=repo, srv=srv, rng=random.Random(seed), seed=seed)
    verifier = Verifier(ctx)
    modes_seen: dict[str, int] = {}
    started = time.monotonic()
    done = 0
    for it in range(iterations):
        if time.monotonic() - started > budget:
            break
        ctx.iteration = it
        ctx.kill_on = KILL_MODES[it % len(KILL_MODES)]
        ctx.killed.clear()
        ctx.trigger.clear()
        ctx.stop.clear()
        workers = [Worker(ctx, w) for w in range(3)]
        for w in workers:
            w.start()
        kill_at_moment(ctx, srv)
        ctx.stop.set()
        for w in workers:
            w.join(timeout=60)
            assert not w.is_alive(), f"worker {w.name} hangs after the kill"
        srv.start()
        verifier.check(final=False)
        done += 1
        modes_seen[ctx.kill_on] = modes_seen.get(ctx.kill_on, 0) + 1
        if ctx.problems:
            break

    if not ctx.problems:
        srv.stop()  # and once more after a graceful restart, everything in full
        srv.start()
        verifier.check(final=True)

    acked_m = sum(1 for m in ctx.manifests if m.acked)
    acked_b = sum(1 for b in ctx.blobs if b.acked)
    summary = (f"backend={backend} seed={seed}: {done} kill/restart cycles {modes_seen} in "
               f"{time.monotonic() - started:.1f}s; {acked_m}/{len(ctx.manifests)} manifests and "
               f"{acked_b}/{len(ctx.blobs)} blobs acknowledged, "
               f"{sum(1 for m in ctx.manifests if m.deleted == 'acked')} deletes acknowledged; "
               f"{dict(sorted(ctx.stats.items()))}")
    for n in sorted(set(ctx.notes)):
        print("note:", n, f"(x{ctx.notes.count(n)})")
    print(summary)
    assert not ctx.problems, summary + "\n" + "\n".join(ctx.problems[:30])
    assert done >= min(iterations, 10), f"only {done} cycles ran: {summary}"
    assert acked_m > 0, f"no push was ever acknowledged: {summary}"
