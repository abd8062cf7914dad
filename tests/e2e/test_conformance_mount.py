"""OCI Distribution conformance: cross-repository blob mount (end-11)."""

import pytest

from ocihelp import (
    Client,
    assert_error,
    fake_digest,
    missing_repo,
    new_repo,
    rand_bytes,
    sha256,
    sha512,
    with_query,
)


@pytest.fixture
def c(wharf):
    wharf.put_account_setting("BLOB_MOUNTING", "ENABLED")  # off by default, as in ECR
    return Client(wharf)


def _mount(c, target, d, source):
    params = {"mount": d}
    if source is not None:
        params["from"] = source
    return c.start_upload(target, **params)


def test_mount_from_repository_holding_blob(c, wharf, repo):
    data = rand_bytes(500)
    d = c.push_blob(repo, data)
    target = new_repo(wharf)
    assert c.head_blob(target, d).status_code == 404
    r = _mount(c, target, d, repo)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d
    g = c.get(c.location(r))
    assert g.status_code == 200 and g.content == data
    h = c.head_blob(target, d)
    assert h.status_code == 200 and h.headers.get("Content-Length") == str(len(data))
    # the source keeps it
    assert c.head_blob(repo, d).status_code == 200


def test_mount_location_points_into_target(c, wharf, repo):
    d = c.push_blob(repo, rand_bytes(64))
    target = new_repo(wharf)
    r = _mount(c, target, d, repo)
    assert r.status_code == 201
    assert f"/v2/{target}/blobs/{d}" in c.location(r)


def test_mount_sha512_blob(c, wharf, repo):
    data = rand_bytes(300)
    d = c.push_blob(repo, data, algo="sha512")
    target = new_repo(wharf)
    r = _mount(c, target, d, repo)
    assert r.status_code == 201
    assert c.get_blob(target, d).content == data


def test_mount_already_present(c, wharf, repo):
    data = rand_bytes(64)
    d = c.push_blob(repo, data)
    target = new_repo(wharf)
    c.push_blob(target, data)
    r = _mount(c, target, d, repo)
    assert r.status_code == 201


def _assert_session(c, r, target):
    assert r.status_code == 202, (r.status_code, r.text)
    assert r.headers.get("Docker-Upload-UUID")
    loc = c.location(r)
    # the session is a normal, usable upload session
    data = rand_bytes(77)
    p = c.put(with_query(loc, digest=sha256(data)), data=data)
    assert p.status_code == 201
    assert c.get_blob(target, sha256(data)).content == data


def test_mount_unknown_blob_opens_session(c, wharf, repo):
    target = new_repo(wharf)
    d = fake_digest()
    r = _mount(c, target, d, repo)
    _assert_session(c, r, target)
    assert c.head_blob(target, d).status_code == 404


def test_mount_from_unknown_repository_opens_session(c, wharf, repo):
    data = rand_bytes(64)
    d = c.push_blob(repo, data)
    target = new_repo(wharf)
    r = _mount(c, target, d, missing_repo())
    _assert_session(c, r, target)
    assert c.head_blob(target, d).status_code == 404


def test_mount_from_repository_without_blob_opens_session(c, wharf, repo):
    # the blob exists in `repo`, but the client names another source that does not hold it:
    # no mount (that would leak content across repositories)
    data = rand_bytes(64)
    d = c.push_blob(repo, data)
    empty_source = new_repo(wharf)
    target = new_repo(wharf)
    r = _mount(c, target, d, empty_source)
    _assert_session(c, r, target)
    assert c.head_blob(target, d).status_code == 404


def test_mount_after_source_delete_opens_session(c, wharf, repo):
    data = rand_bytes(64)
    d = c.push_blob(repo, data)
    assert c.delete(f"/v2/{repo}/blobs/{d}").status_code == 202
    target = new_repo(wharf)
    r = _mount(c, target, d, repo)
    _assert_session(c, r, target)


def test_mount_into_unknown_repository(c, repo):
    d = c.push_blob(repo, rand_bytes(64))
    r = _mount(c, missing_repo(), d, repo)
    assert_error(r, 404, "NAME_UNKNOWN")


def test_mount_unknown_sha512_opens_session(c, wharf, repo):
    target = new_repo(wharf)
    r = _mount(c, target, sha512(rand_bytes(5)), repo)
    _assert_session(c, r, target)


def test_mount_with_invalid_source_name(c, wharf, repo):
    d = c.push_blob(repo, rand_bytes(64))
    target = new_repo(wharf)
    r = _mount(c, target, d, "Not/A/Valid/Name")
    # a bad `from` never mounts anything; either refused as a bad name or a plain session
    if r.status_code == 400:
        assert_error(r, 400, "NAME_INVALID")
    else:
        _assert_session(c, r, target)


def test_mount_without_from_does_not_cross_repositories(c, wharf, repo):
    # the spec lets a registry mount without `from` when it "can find" the blob; wharf only
    # mounts from a named source that holds it (blobs are scoped to repositories)
    data = rand_bytes(64)
    d = c.push_blob(repo, data)
    target = new_repo(wharf)
    r = _mount(c, target, d, None)
    _assert_session(c, r, target)
    assert c.head_blob(target, d).status_code == 404


def test_mount_from_itself(c, repo):
    d = c.push_blob(repo, rand_bytes(64))
    r = _mount(c, repo, d, repo)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d


def test_mounts_are_off_until_the_account_setting_enables_them(wharf_factory):
    srv = wharf_factory()
    c = Client(srv)
    source, target = "mnt/source", "mnt/target"
    srv.create_repo(source)
    srv.create_repo(target)
    d = c.push_blob(source, rand_bytes(100))
    r = _mount(c, target, d, source)
    assert r.status_code == 202, "BLOB_MOUNTING is DISABLED by default: a normal upload session"
    assert c.head_blob(target, d).status_code == 404
    srv.put_account_setting("BLOB_MOUNTING", "ENABLED")
    assert _mount(c, target, d, source).status_code == 201
