"""OCI Distribution conformance: pulling, checking and deleting blobs (end-2, end-10),
HTTP Range requests, repository scoping of blobs.
"""

import pytest

from ocihelp import (
    Client,
    assert_error,
    fake_digest,
    new_repo,
    rand_bytes,
    sha256,
    sha512,
)


@pytest.fixture
def c(wharf):
    return Client(wharf)


@pytest.fixture
def blob(c, repo):
    data = rand_bytes(1000)
    return data, c.push_blob(repo, data)


# --- GET / HEAD ------------------------------------------------------------------------------


def test_get_blob(c, repo, blob):
    data, d = blob
    r = c.get_blob(repo, d)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers.get("Docker-Content-Digest") == d
    assert r.headers.get("Content-Length") == str(len(data))


def test_get_blob_advertises_ranges(c, repo, blob):
    data, d = blob
    r = c.get_blob(repo, d)
    assert r.status_code == 200
    assert r.headers.get("Accept-Ranges") == "bytes"


def test_head_blob(c, repo, blob):
    data, d = blob
    r = c.head_blob(repo, d)
    assert r.status_code == 200
    assert r.headers.get("Docker-Content-Digest") == d
    assert r.headers.get("Content-Length") == str(len(data))
    assert r.content == b""


def test_get_unknown_blob(c, repo):
    assert_error(c.get_blob(repo, fake_digest()), 404, "BLOB_UNKNOWN")


def test_head_unknown_blob(c, repo):
    r = c.head_blob(repo, fake_digest())
    assert r.status_code == 404
    assert r.content == b""


def test_get_unknown_sha512_blob(c, repo):
    assert_error(c.get_blob(repo, sha512(rand_bytes(8))), 404, "BLOB_UNKNOWN")


MALFORMED_DIGESTS = [
    "sha256:zzzz",
    "sha256:abc",
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "sha256:" + "A" * 64,  # the encoded part of sha256 is lower-case hex
    "sha512:" + "a" * 64,  # wrong length for sha512
    "sha256" + "a" * 64,
    "notadigest",
    ":" + "a" * 64,
]


@pytest.mark.parametrize("dig", MALFORMED_DIGESTS, ids=range(len(MALFORMED_DIGESTS)))
def test_get_blob_malformed_digest(c, repo, dig):
    assert_error(c.get_blob(repo, dig), 400, "DIGEST_INVALID")


@pytest.mark.parametrize("dig", MALFORMED_DIGESTS[:3], ids=range(3))
def test_head_blob_malformed_digest(c, repo, dig):
    r = c.head_blob(repo, dig)
    assert r.status_code == 400


def test_unsupported_digest_algorithm(c, repo):
    # md5 is well-formed per the digest grammar but not a registered algorithm: a client
    # error, never a 5xx.
    assert_error(c.get_blob(repo, "md5:" + "a" * 32), 400, ("DIGEST_INVALID", "UNSUPPORTED"))


def test_empty_blob(c, repo):
    d = c.push_blob(repo, b"")
    assert d == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    r = c.get_blob(repo, d)
    assert r.status_code == 200 and r.content == b""
    assert r.headers.get("Content-Length") == "0"
    r = c.head_blob(repo, d)
    assert r.status_code == 200 and r.headers.get("Content-Length") == "0"


def test_large_blob_roundtrip(c, repo):
    data = rand_bytes(5 * 1024 * 1024 + 7)
    d = c.push_blob(repo, data)
    r = c.get_blob(repo, d)
    assert r.status_code == 200
    assert sha256(r.content) == d


# --- repository scoping ------------------------------------------------------------------------


def test_blob_not_readable_from_other_repository(c, wharf, repo, blob):
    data, d = blob
    other = new_repo(wharf)
    assert_error(c.get_blob(other, d), 404, "BLOB_UNKNOWN")
    r = c.head_blob(other, d)
    assert r.status_code == 404


def test_blob_readable_in_both_after_pushing_to_both(c, wharf, repo, blob):
    data, d = blob
    other = new_repo(wharf)
    assert c.push_blob(other, data) == d
    assert c.get_blob(other, d).content == data
    assert c.get_blob(repo, d).content == data


# --- Range ------------------------------------------------------------------------------------


def _range(c, repo, d, spec):
    return c.get_blob(repo, d, headers={"Range": spec}, stream=True)


def test_range_first_bytes(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, "bytes=0-9")
    assert r.status_code == 206
    assert r.content == data[0:10]
    assert r.headers.get("Content-Range") == f"bytes 0-9/{len(data)}"
    assert r.headers.get("Content-Length") == "10"


def test_range_middle(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, "bytes=100-199")
    assert r.status_code == 206
    assert r.content == data[100:200]
    assert r.headers.get("Content-Range") == f"bytes 100-199/{len(data)}"


def test_range_open_ended(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, "bytes=900-")
    assert r.status_code == 206
    assert r.content == data[900:]
    assert r.headers.get("Content-Range") == f"bytes 900-{len(data) - 1}/{len(data)}"


def test_range_suffix(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, "bytes=-16")
    assert r.status_code == 206
    assert r.content == data[-16:]
    assert r.headers.get("Content-Range") == f"bytes {len(data) - 16}-{len(data) - 1}/{len(data)}"


def test_range_end_past_size_is_clamped(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, f"bytes=990-{len(data) + 500}")
    assert r.status_code == 206
    assert r.content == data[990:]
    assert r.headers.get("Content-Range") == f"bytes 990-{len(data) - 1}/{len(data)}"


def test_range_last_byte(c, repo, blob):
    data, d = blob
    n = len(data)
    r = _range(c, repo, d, f"bytes={n - 1}-{n - 1}")
    assert r.status_code == 206
    assert r.content == data[-1:]


def test_range_not_satisfiable(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, f"bytes={len(data)}-")
    assert r.status_code == 416
    assert r.headers.get("Content-Range") == f"bytes */{len(data)}"
    r.content  # the body, if any, matches its framing


def test_range_start_far_past_end(c, repo, blob):
    data, d = blob
    r = _range(c, repo, d, f"bytes={len(data) + 1000}-{len(data) + 2000}")
    assert r.status_code == 416
    assert r.headers.get("Content-Range") == f"bytes */{len(data)}"
    r.content


def test_range_unknown_blob(c, repo):
    r = _range(c, repo, fake_digest(), "bytes=0-9")
    assert_error(r, 404, "BLOB_UNKNOWN")


def test_range_malformed_is_ignored_or_rejected(c, repo, blob):
    # RFC 9110: a syntactically invalid Range header is ignored (200 with the whole body)
    data, d = blob
    r = _range(c, repo, d, "bytes=abc")
    assert r.status_code in (200, 416)
    if r.status_code == 200:
        assert r.content == data


# --- DELETE (end-10) ---------------------------------------------------------------------------


def test_delete_blob(c, repo, blob):
    data, d = blob
    r = c.delete(f"/v2/{repo}/blobs/{d}")
    assert r.status_code == 202
    assert_error(c.get_blob(repo, d), 404, "BLOB_UNKNOWN")
    assert c.head_blob(repo, d).status_code == 404


def test_delete_blob_twice(c, repo, blob):
    data, d = blob
    assert c.delete(f"/v2/{repo}/blobs/{d}").status_code == 202
    assert_error(c.delete(f"/v2/{repo}/blobs/{d}"), 404, "BLOB_UNKNOWN")


def test_delete_unknown_blob(c, repo):
    assert_error(c.delete(f"/v2/{repo}/blobs/{fake_digest()}"), 404, "BLOB_UNKNOWN")


def test_delete_blob_malformed_digest(c, repo):
    assert_error(c.delete(f"/v2/{repo}/blobs/sha256:nothex"), 400, "DIGEST_INVALID")


def test_delete_blob_only_affects_that_repository(c, wharf, repo, blob):
    data, d = blob
    other = new_repo(wharf)
    c.push_blob(other, data)
    assert c.delete(f"/v2/{repo}/blobs/{d}").status_code == 202
    assert c.get_blob(other, d).content == data


def test_blob_can_be_pushed_again_after_delete(c, repo, blob):
    data, d = blob
    assert c.delete(f"/v2/{repo}/blobs/{d}").status_code == 202
    assert c.push_blob(repo, data) == d
    assert c.get_blob(repo, d).content == data
