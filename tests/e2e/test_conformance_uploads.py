"""OCI Distribution conformance: blob upload sessions (end-4a, end-4b, end-5, end-6, end-13,
end-14): monolithic, chunked, streamed, status, cancel, digest verification, lying framing.
"""

import re
import uuid

import pytest

from ocihelp import (
    Client,
    assert_error,
    rand_bytes,
    raw_request,
    sha256,
    sha512,
    with_query,
    new_repo,
)

RANGE_RE = re.compile(r"^0-\d+$")


@pytest.fixture
def c(wharf):
    return Client(wharf)


def _stored(c, repo, d):
    return c.head_blob(repo, d).status_code == 200


def _range_end(resp):
    rng = resp.headers.get("Range")
    assert rng is not None and RANGE_RE.match(rng), f"bad Range header {rng!r}"
    return int(rng.split("-")[1])


# --- POST (end-4a) ---------------------------------------------------------------------------


def test_start_session(c, repo):
    r = c.start_upload(repo)
    assert r.status_code == 202
    loc = r.headers.get("Location")
    assert loc
    uid = r.headers.get("Docker-Upload-UUID")
    assert uid, "Docker-Upload-UUID missing"
    assert uid in loc, "Location must carry the session id"


def test_start_session_empty_range(c, repo):
    r = c.start_upload(repo)
    assert r.status_code == 202
    # the spec does not require Range on the POST answer; when present (as in Distribution)
    # an empty session reads 0-0
    assert r.headers.get("Range", "0-0") == "0-0"


def test_sessions_are_unique(c, repo):
    locs = {c.open_session(repo) for _ in range(5)}
    assert len(locs) == 5


# --- monolithic ------------------------------------------------------------------------------


def test_post_then_put(c, repo):
    data = rand_bytes(2000)
    d = sha256(data)
    loc = c.open_session(repo)
    r = c.put(with_query(loc, digest=d), data=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d
    g = c.get(c.location(r))
    assert g.status_code == 200 and g.content == data


def test_single_post_monolithic(c, repo):
    data = rand_bytes(2000)
    d = sha256(data)
    r = c.post_blob(repo, data, d)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d
    g = c.get(c.location(r))
    assert g.status_code == 200 and g.content == data


def test_single_post_digest_mismatch(c, repo):
    data = rand_bytes(100)
    wrong = sha256(b"something else")
    r = c.post_blob(repo, data, wrong)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not _stored(c, repo, wrong)
    assert not _stored(c, repo, sha256(data))


def test_put_digest_mismatch(c, repo):
    data = rand_bytes(100)
    wrong = sha256(b"something else " + rand_bytes(4))
    r = c.put_blob(repo, data, wrong)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not _stored(c, repo, wrong)
    assert not _stored(c, repo, sha256(data))


def test_put_without_digest(c, repo):
    loc = c.open_session(repo)
    r = c.put(loc, data=b"abc", headers={"Content-Type": "application/octet-stream"})
    assert_error(r, 400, "DIGEST_INVALID")


def test_put_malformed_digest(c, repo):
    loc = c.open_session(repo)
    r = c.put(with_query(loc, digest="sha256:xyz"), data=b"abc",
              headers={"Content-Type": "application/octet-stream"})
    assert_error(r, 400, "DIGEST_INVALID")


def test_reupload_existing_blob(c, repo):
    data = rand_bytes(300)
    d = c.push_blob(repo, data)
    r = c.put_blob(repo, data, d)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d


def test_session_gone_after_completion(c, repo):
    data = rand_bytes(300)
    loc = c.open_session(repo)
    r = c.put(with_query(loc, digest=sha256(data)), data=data)
    assert r.status_code == 201
    assert_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(c.patch_chunk(loc, b"more", None), 404, "BLOB_UPLOAD_UNKNOWN")


# --- sha512 ----------------------------------------------------------------------------------


def test_sha512_monolithic(c, repo):
    data = rand_bytes(1500)
    d = sha512(data)
    r = c.put_blob(repo, data, d)
    assert r.status_code == 201
    # Docker-Content-Digest is "the canonical digest", which MAY use another algorithm
    assert r.headers.get("Docker-Content-Digest") in (d, sha256(data))
    h = c.head_blob(repo, d)
    assert h.status_code == 200
    assert h.headers.get("Docker-Content-Digest") in (d, sha256(data))
    assert h.headers.get("Content-Length") == str(len(data))
    assert c.get_blob(repo, d).content == data


def test_sha512_chunked(c, repo):
    data = rand_bytes(3000)
    r = c.push_blob_chunked(repo, data, chunk=1000, algo="sha512")
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") in (sha512(data), sha256(data))
    assert c.get_blob(repo, sha512(data)).content == data


def test_sha512_mismatch(c, repo):
    data = rand_bytes(100)
    wrong = sha512(b"other")
    r = c.put_blob(repo, data, wrong)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not _stored(c, repo, wrong)


# --- chunked (end-5) -------------------------------------------------------------------------


def test_chunked_upload(c, repo):
    data = rand_bytes(3500)
    loc = c.open_session(repo)
    off = 0
    for chunk in (data[:1000], data[1000:2000], data[2000:3500]):
        r = c.patch_chunk(loc, chunk, off)
        assert r.status_code == 202, (r.status_code, r.text)
        off += len(chunk)
        assert r.headers.get("Range") == f"0-{off - 1}"
        assert r.headers.get("Location")
        assert r.headers.get("Docker-Upload-UUID")
        loc = c.location(r)
    r = c.put(with_query(loc, digest=sha256(data)), data=b"",
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == sha256(data)
    assert c.get(c.location(r)).content == data


def test_chunked_upload_final_chunk_in_put(c, repo):
    data = rand_bytes(2500)
    r = c.push_blob_chunked(repo, data, chunk=1000, final_in_put=True)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == sha256(data)
    assert c.get(c.location(r)).content == data


def test_chunked_single_byte_chunks(c, repo):
    data = rand_bytes(7)
    r = c.push_blob_chunked(repo, data, chunk=1)
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


def test_chunk_out_of_order_skip_ahead(c, repo):
    data = rand_bytes(3000)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data[:1000], 0)
    assert r.status_code == 202
    loc = c.location(r)
    r = c.patch_chunk(loc, data[2000:3000], 2000)
    assert r.status_code == 416
    # the session survives; GET reports the real offset and the upload can go on
    s = c.get(loc)
    assert s.status_code == 204
    assert s.headers.get("Range") == "0-999"
    r = c.patch_chunk(c.location(s), data[1000:], 1000)
    assert r.status_code == 202
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


def test_chunk_out_of_order_overlap(c, repo):
    data = rand_bytes(2000)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data[:1000], 0)
    assert r.status_code == 202
    loc = c.location(r)
    r = c.patch_chunk(loc, data[500:1500], 500)
    assert r.status_code == 416
    s = c.get(loc)
    assert s.status_code == 204 and s.headers.get("Range") == "0-999"


def test_first_chunk_not_at_zero(c, repo):
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, b"abcdef", 10)
    assert r.status_code == 416


def test_out_of_order_final_chunk_in_put(c, repo):
    data = rand_bytes(2000)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data[:1000], 0)
    loc = c.location(r)
    r = c.put(with_query(loc, digest=sha256(data)), data=data[1500:],
              headers={"Content-Range": f"1500-{len(data) - 1}",
                       "Content-Type": "application/octet-stream"})
    assert r.status_code == 416
    assert not _stored(c, repo, sha256(data))


def test_content_range_length_mismatch(c, repo):
    # Content-Range says 100 bytes, the body (and Content-Length) carry 50
    loc = c.open_session(repo)
    r = c.patch(loc, data=rand_bytes(50),
                headers={"Content-Range": "0-99", "Content-Type": "application/octet-stream"})
    assert_error(r, 400, "SIZE_INVALID")
    s = c.get(loc)
    assert s.status_code == 204 and s.headers.get("Range") == "0-0"


@pytest.mark.parametrize("cr", ["bytes=0-9", "0-", "abc", "9-0", "-5"])
def test_malformed_content_range_is_client_error(c, repo, cr):
    loc = c.open_session(repo)
    r = c.patch(loc, data=rand_bytes(10),
                headers={"Content-Range": cr, "Content-Type": "application/octet-stream"})
    assert r.status_code in (400, 416), (r.status_code, r.text)


def test_chunked_digest_mismatch(c, repo):
    data = rand_bytes(2000)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data, 0)
    assert r.status_code == 202
    wrong = sha256(data + b"x")
    r = c.put(with_query(c.location(r), digest=wrong), data=b"")
    assert_error(r, 400, "DIGEST_INVALID")
    assert not _stored(c, repo, wrong)
    assert not _stored(c, repo, sha256(data))


# --- streamed (PATCH without Content-Range) ------------------------------------------------------


def test_streamed_patch(c, repo):
    data = rand_bytes(4000)
    loc = c.open_session(repo)
    r = c.patch(loc, data=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202
    assert r.headers.get("Range") == f"0-{len(data) - 1}"
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


def test_streamed_patch_chunked_transfer_encoding(c, repo):
    data = rand_bytes(70000)

    def gen():
        for i in range(0, len(data), 7000):
            yield data[i:i + 7000]

    loc = c.open_session(repo)
    r = c.patch(loc, data=gen(), headers={"Content-Type": "application/octet-stream"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 202
    assert r.headers.get("Range") == f"0-{len(data) - 1}"
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


def test_streamed_patches_append(c, repo):
    data = rand_bytes(3000)
    loc = c.open_session(repo)
    for i in range(0, 3000, 1000):
        r = c.patch(loc, data=data[i:i + 1000], headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 202
        assert r.headers.get("Range") == f"0-{i + 999}"
        loc = c.location(r)
    r = c.put(with_query(loc, digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


def test_put_with_body_after_patches(c, repo):
    data = rand_bytes(3000)
    loc = c.open_session(repo)
    r = c.patch(loc, data=data[:2000], headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=data[2000:],
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data


# --- status (end-13) ---------------------------------------------------------------------------


def test_upload_status(c, repo):
    data = rand_bytes(1234)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data, 0)
    loc = c.location(r)
    s = c.get(loc)
    assert s.status_code == 204
    assert s.headers.get("Range") == "0-1233"
    assert s.headers.get("Docker-Upload-UUID")
    assert s.headers.get("Location")
    assert s.content == b""


def test_upload_status_empty_session(c, repo):
    loc = c.open_session(repo)
    s = c.get(loc)
    assert s.status_code == 204
    assert s.headers.get("Range") == "0-0"
    assert s.headers.get("Docker-Upload-UUID")


def test_upload_status_location_is_usable(c, repo):
    data = rand_bytes(500)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data[:200], 0)
    assert r.status_code == 202
    loc = c.location(r)
    s = c.get(loc)
    assert s.status_code == 204 and s.headers.get("Range") == "0-199"
    r = c.patch_chunk(c.location(s), data[200:], 200)
    assert r.status_code == 202
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201


# --- cancel (end-14) and unknown sessions ---------------------------------------------------------


def test_cancel_upload(c, repo):
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, b"partial", 0)
    assert r.status_code == 202
    loc = c.location(r)
    r = c.delete(loc)
    assert r.status_code == 204
    assert_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(c.patch_chunk(loc, b"more", 7), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(c.put(with_query(loc, digest=sha256(b"partial"))), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not _stored(c, repo, sha256(b"partial"))


def test_cancel_twice(c, repo):
    loc = c.open_session(repo)
    assert c.delete(loc).status_code == 204
    assert_error(c.delete(loc), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_unknown_session(c, repo, method):
    u = f"/v2/{repo}/blobs/uploads/{uuid.uuid4()}"
    if method == "PUT":
        u = with_query(u, digest=sha256(b"x"))
    r = c.req(method, u, data=b"x" if method in ("PATCH", "PUT") else None)
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("sid", ["not-a-uuid", "..%2F..%2Fetc", "x" * 300])
def test_malformed_session_id(c, repo, sid):
    r = c.get(f"/v2/{repo}/blobs/uploads/{sid}")
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


def test_session_bound_to_its_repository(c, wharf, repo):
    loc = c.open_session(repo)
    other = new_repo(wharf)
    moved = loc.replace(f"/v2/{repo}/blobs/uploads/", f"/v2/{other}/blobs/uploads/")
    assert moved != loc
    assert_error(c.get(moved), 404, "BLOB_UPLOAD_UNKNOWN")
    data = b"hello"
    r = c.put(with_query(moved, digest=sha256(data)), data=data)
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
    assert not _stored(c, other, sha256(data))
    # the session still works in its own repository
    r = c.put(with_query(loc, digest=sha256(data)), data=data)
    assert r.status_code == 201


# --- lying framing ------------------------------------------------------------------------------


def _upload_path(c, loc):
    from urllib.parse import urlsplit
    u = urlsplit(loc)
    return u.path + ("?" + u.query if u.query else "")


def test_body_shorter_than_content_length(c, wharf, repo):
    data = rand_bytes(100)
    loc = c.open_session(repo)
    path = _upload_path(c, with_query(loc, digest=sha256(data)))
    status, _, _ = raw_request(
        wharf.url, "PUT", path,
        {"Content-Length": "200", "Content-Type": "application/octet-stream", "Connection": "close",
         **wharf.auth_header()},
        data, shutdown_write=True,
    )
    # either the server answers with a client error or it just drops the connection
    assert status is None or 400 <= status < 500, status
    assert not _stored(c, repo, sha256(data))


def test_body_longer_than_content_length(c, wharf, repo):
    data = rand_bytes(100)
    loc = c.open_session(repo)
    path = _upload_path(c, with_query(loc, digest=sha256(data)))
    status, _, body = raw_request(
        wharf.url, "PUT", path,
        {"Content-Length": "50", "Content-Type": "application/octet-stream", "Connection": "close",
         **wharf.auth_header()},
        data,
    )
    # the server reads 50 bytes: they do not hash to the announced digest
    assert status == 400, (status, body)
    assert b"DIGEST_INVALID" in body
    assert not _stored(c, repo, sha256(data))
    assert not _stored(c, repo, sha256(data[:50]))


def test_patch_body_shorter_than_content_length(c, wharf, repo):
    data = rand_bytes(100)
    loc = c.open_session(repo)
    status, _, _ = raw_request(
        wharf.url, "PATCH", _upload_path(c, loc),
        {"Content-Length": "1000", "Content-Range": "0-999",
         "Content-Type": "application/octet-stream", "Connection": "close", **wharf.auth_header()},
        data, shutdown_write=True,
    )
    assert status is None or 400 <= status < 500, status
    # whatever was kept, the session must still be consistent and completable
    s = c.get(loc)
    assert s.status_code == 204
    end = _range_end(s)
    assert end in (0, 99)
    full = rand_bytes(50) if end == 0 else data + rand_bytes(50)
    off = 0 if end == 0 else 100
    r = c.patch_chunk(c.location(s), full[off:], off)
    assert r.status_code == 202
    r = c.put(with_query(c.location(r), digest=sha256(full)), data=b"")
    assert r.status_code == 201


# --- resumable push ---------------------------------------------------------------------------


def test_blob_invisible_until_session_closed(c, repo):
    data = rand_bytes(3000)
    loc = c.open_session(repo)
    r = c.patch_chunk(loc, data, 0)
    assert r.status_code == 202
    # every byte is there, but the digest has not been verified: nothing is visible yet
    assert c.head_blob(repo, sha256(data)).status_code == 404
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.head_blob(repo, sha256(data)).status_code == 200


def test_resume_after_restart(wharf_factory):
    # spec use case "Resumable Push"; wharf: upload sessions survive a server restart
    srv = wharf_factory()
    name = new_repo(srv)
    c = Client(srv)
    data = rand_bytes(5000)
    loc = c.open_session(name)
    r = c.patch_chunk(loc, data[:2000], 0)
    assert r.status_code == 202
    loc = c.location(r)
    srv.restart()
    s = c.get(loc)
    assert s.status_code == 204
    assert s.headers.get("Range") == "0-1999"
    r = c.patch_chunk(c.location(s), data[2000:], 2000)
    assert r.status_code == 202
    r = c.put(with_query(c.location(r), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(name, sha256(data)).content == data
