"""Small shared helpers for the OCI Distribution conformance tests (test_conformance_*.py).

Everything here speaks plain HTTP through `requests` (plus one raw-socket helper for
requests whose framing lies), so the tests see exactly what a client sees. `Client(wharf)`
authenticates as the server's administrator (Basic AWS:<token>, see conftest.py); give
raw_request `wharf.auth_header()` among its headers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import uuid
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

TIMEOUT = 30

# --- media types -------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

ALL_MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST]
ACCEPT_ALL = ", ".join(ALL_MANIFEST_TYPES)

EMPTY_JSON = b"{}"
EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

# --- digests -----------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def digest_of(data: bytes, algo: str = "sha256") -> str:
    return {"sha256": sha256, "sha512": sha512}[algo](data)


def rand_bytes(n: int) -> bytes:
    return os.urandom(n)


def unique() -> str:
    return uuid.uuid4().hex[:12]


def fake_digest() -> str:
    """A well-formed sha256 digest of random content nobody pushed."""
    return sha256(b"never pushed " + os.urandom(16))


def with_query(url: str, **params) -> str:
    """Add query parameters to a URL, keeping the ones it already has (a Location
    header MAY carry critical query parameters)."""
    parts = urlsplit(url)
    q = parse_qsl(parts.query, keep_blank_values=True)
    q = [(k, v) for (k, v) in q if k not in params]
    q.extend((k, str(v)) for k, v in params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), parts.fragment))


def media_type(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


# --- error bodies ------------------------------------------------------------------------

CODE_RE = re.compile(r"^[A-Z_]+$")


def error_codes(resp: requests.Response) -> list[str]:
    try:
        body = resp.json()
    except ValueError:
        return []
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return []
    return [e.get("code") for e in body["errors"] if isinstance(e, dict)]


def assert_error(resp: requests.Response, status: int, code: str | tuple | None = None) -> None:
    """Exact status; for non-HEAD requests a spec-shaped JSON error body whose codes
    include `code` (a tuple means any one of them)."""
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url}: expected {status}, got {resp.status_code} "
        f"{resp.text[:400]!r}"
    )
    if resp.request.method == "HEAD":
        assert resp.content == b""
        return
    assert media_type(resp) == "application/json", (
        f"error Content-Type {resp.headers.get('Content-Type')!r} for {resp.request.method} "
        f"{resp.request.url}"
    )
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"], body
    for e in body["errors"]:
        assert isinstance(e, dict), body
        assert isinstance(e.get("code"), str) and CODE_RE.match(e["code"]), body
        if "message" in e:
            assert isinstance(e["message"], str), body
    if code is not None:
        wanted = code if isinstance(code, tuple) else (code,)
        codes = error_codes(resp)
        assert any(c in codes for c in wanted), (
            f"{resp.request.method} {resp.request.url}: expected code {code}, got {codes} "
            f"({resp.text[:400]!r})"
        )


# --- manifests -----------------------------------------------------------------------------


def dumps(obj) -> bytes:
    return json.dumps(obj, indent=2).encode()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


def config_blob(tag: str | None = None) -> bytes:
    """A small valid OCI/Docker image config, unique per call."""
    return dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"conformance": tag or unique()}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    )


def _manifest(media_type: str, body: dict, artifact_type, subject, annotations) -> bytes:
    m = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type is not None:
        m["artifactType"] = artifact_type
    m.update(body)
    if subject is not None:
        m["subject"] = subject
    if annotations is not None:
        m["annotations"] = annotations
    return dumps(m)


def image_manifest(
    config: dict,
    layers: list[dict],
    media_type: str = OCI_MANIFEST,
    artifact_type: str | None = None,
    subject: dict | None = None,
    annotations: dict | None = None,
) -> bytes:
    return _manifest(media_type, {"config": config, "layers": layers}, artifact_type, subject, annotations)


def index_manifest(
    manifests: list[dict],
    media_type: str = OCI_INDEX,
    artifact_type: str | None = None,
    subject: dict | None = None,
    annotations: dict | None = None,
) -> bytes:
    return _manifest(media_type, {"manifests": manifests}, artifact_type, subject, annotations)


# --- client --------------------------------------------------------------------------------


class Client:
    """A thin Distribution API client for a conftest.WharfServer, authenticated as its
    administrator unless given another requests ``auth``. One per thread (requests.Session
    is not shared)."""

    def __init__(self, wharf, auth=None):
        self.wharf = wharf
        self.base = wharf.url.rstrip("/")
        self.s = requests.Session()
        self.s.auth = auth if auth is not None else wharf.auth

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base + "/", path_or_url)

    def req(self, method: str, path_or_url: str, **kw) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.url(path_or_url), **kw)

    def get(self, u, **kw):
        return self.req("GET", u, **kw)

    def head(self, u, **kw):
        return self.req("HEAD", u, **kw)

    def put(self, u, **kw):
        return self.req("PUT", u, **kw)

    def post(self, u, **kw):
        return self.req("POST", u, **kw)

    def patch(self, u, **kw):
        return self.req("PATCH", u, **kw)

    def delete(self, u, **kw):
        return self.req("DELETE", u, **kw)

    def location(self, resp: requests.Response) -> str:
        """The absolute form of a response's Location (it MAY be relative)."""
        loc = resp.headers.get("Location")
        assert loc, f"no Location header on {resp.request.method} {resp.request.url} ({resp.status_code})"
        return urljoin(resp.url, loc)

    # blobs

    def start_upload(self, name: str, **params) -> requests.Response:
        u = f"/v2/{name}/blobs/uploads/"
        if params:
            u = with_query(u, **params)
        return self.post(u, headers={"Content-Length": "0"})

    def open_session(self, name: str) -> str:
        r = self.start_upload(name)
        assert r.status_code == 202, (r.status_code, r.text)
        return self.location(r)

    def put_blob(self, name: str, data: bytes, digest: str | None = None) -> requests.Response:
        """POST then PUT (monolithic)."""
        loc = self.open_session(name)
        return self.put(
            with_query(loc, digest=digest or sha256(data)),
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def push_blob(self, name: str, data: bytes, algo: str = "sha256") -> str:
        d = digest_of(data, algo)
        r = self.put_blob(name, data, d)
        assert r.status_code == 201, (r.status_code, r.text)
        return d

    def post_blob(self, name: str, data: bytes, digest: str | None = None) -> requests.Response:
        """Single-POST monolithic upload."""
        return self.post(
            with_query(f"/v2/{name}/blobs/uploads/", digest=digest or sha256(data)),
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def patch_chunk(self, loc: str, chunk: bytes, start: int | None) -> requests.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if start is not None:
            headers["Content-Range"] = f"{start}-{start + len(chunk) - 1}"
        return self.patch(loc, data=chunk, headers=headers)

    def push_blob_chunked(
        self, name: str, data: bytes, chunk: int = 1000, final_in_put: bool = False, algo="sha256"
    ) -> requests.Response:
        loc = self.open_session(name)
        pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        last = pieces.pop() if final_in_put and pieces else None
        off = 0
        for p in pieces:
            r = self.patch_chunk(loc, p, off)
            assert r.status_code == 202, (r.status_code, r.text)
            off += len(p)
            loc = self.location(r)
        headers = {"Content-Type": "application/octet-stream"}
        body = b""
        if last is not None:
            headers["Content-Range"] = f"{off}-{off + len(last) - 1}"
            body = last
        return self.put(with_query(loc, digest=digest_of(data, algo)), data=body, headers=headers)

    def head_blob(self, name: str, digest: str) -> requests.Response:
        return self.head(f"/v2/{name}/blobs/{digest}")

    def get_blob(self, name: str, digest: str, **kw) -> requests.Response:
        return self.get(f"/v2/{name}/blobs/{digest}", **kw)

    # manifests

    def put_manifest(self, name: str, ref: str, body: bytes, mt: str = OCI_MANIFEST) -> requests.Response:
        return self.put(f"/v2/{name}/manifests/{ref}", data=body, headers={"Content-Type": mt})

    def push_manifest(self, name: str, ref: str, body: bytes, mt: str = OCI_MANIFEST) -> str:
        r = self.put_manifest(name, ref, body, mt)
        assert r.status_code == 201, (r.status_code, r.text)
        return sha256(body)

    def get_manifest(self, name: str, ref: str, accept: str = ACCEPT_ALL, method="GET") -> requests.Response:
        headers = {} if accept is None else {"Accept": accept}
        return self.req(method, f"/v2/{name}/manifests/{ref}", headers=headers)

    def push_image(
        self,
        name: str,
        tag: str | None = None,
        mt: str = OCI_MANIFEST,
        nlayers: int = 1,
        artifact_type: str | None = None,
        subject: dict | None = None,
        annotations: dict | None = None,
        config_media_type: str | None = None,
        config_data: bytes | None = None,
    ) -> tuple[str, bytes]:
        """Push config + layers + an image manifest; returns (manifest digest, manifest bytes)."""
        docker = mt == DOCKER_MANIFEST
        cfg = config_data if config_data is not None else config_blob()
        self.push_blob(name, cfg)
        layers = []
        for _ in range(nlayers):
            blob = rand_bytes(64)
            self.push_blob(name, blob)
            layers.append(descriptor(DOCKER_LAYER if docker else OCI_LAYER, blob))
        cmt = config_media_type or (DOCKER_CONFIG if docker else OCI_CONFIG)
        body = image_manifest(
            descriptor(cmt, cfg), layers, mt, artifact_type=artifact_type, subject=subject,
            annotations=annotations,
        )
        d = self.push_manifest(name, tag or sha256(body), body, mt)
        return d, body


# --- raw HTTP (for requests whose framing lies) -------------------------------------------------


def raw_request(
    base_url: str,
    method: str,
    path: str,
    headers: dict,
    body: bytes,
    shutdown_write: bool = False,
    timeout: float = 10.0,
) -> tuple[int | None, dict, bytes]:
    """Send exactly the given bytes. Returns (status, headers, body) of the FIRST response,
    or (None, {}, b"") when the server closes the connection without answering."""
    u = urlsplit(base_url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {u.netloc}\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        head += "\r\n"
        sock.sendall(head.encode() + body)
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        buf = b""
        while b"\r\n\r\n" not in buf:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                return (None, {}, b"") if not buf else _parse_raw(buf)
            buf += chunk
        status, hdrs, rest = _parse_raw(buf)
        n = int(hdrs.get("content-length", "0") or 0)
        while len(rest) < n:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            rest += chunk
        return status, hdrs, rest[:n]
    finally:
        sock.close()


def _parse_raw(buf: bytes):
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


# --- repositories ------------------------------------------------------------------------------


def new_repo(wharf, prefix: str = "conf") -> str:
    """Create one more repository on the server (the `repo` fixture gives the first one)."""
    name = f"{prefix}/{unique()}"
    wharf.create_repo(name)
    return name


def missing_repo() -> str:
    """A valid repository name that does not exist."""
    return f"nosuch/{unique()}"
