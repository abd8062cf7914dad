"""OCI Distribution conformance: pushing, pulling and deleting manifests (end-3, end-7, end-9)."""

import json

import pytest

from ocihelp import (
    ACCEPT_ALL,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Client,
    assert_error,
    config_blob,
    descriptor,
    fake_digest,
    image_manifest,
    index_manifest,
    new_repo,
    rand_bytes,
    sha256,
    sha512,
)

MiB = 1024 * 1024


@pytest.fixture
def c(wharf):
    return Client(wharf)


def _blobs(c, repo, docker=False):
    """Push a config and one layer; return (config descriptor, [layer descriptor])."""
    cfg = config_blob()
    layer = rand_bytes(128)
    c.push_blob(repo, cfg)
    c.push_blob(repo, layer)
    return (
        descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, cfg),
        [descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer)],
    )


def _index(c, repo, mt=OCI_INDEX, **kw):
    child_mt = DOCKER_MANIFEST if mt == DOCKER_LIST else OCI_MANIFEST
    children = []
    for arch in ("amd64", "arm64"):
        d, body = c.push_image(repo, mt=child_mt)
        children.append(descriptor(child_mt, body, platform={"architecture": arch, "os": "linux"}))
    return index_manifest(children, mt, **kw)


def _manifest_of_type(c, repo, mt):
    if mt in (OCI_INDEX, DOCKER_LIST):
        return _index(c, repo, mt)
    cfg, layers = _blobs(c, repo, docker=mt == DOCKER_MANIFEST)
    return image_manifest(cfg, layers, mt)


# --- PUT (end-7) ----------------------------------------------------------------------------


def test_put_by_tag(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    r = c.put_manifest(repo, "v1", body)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == sha256(body)
    g = c.get(c.location(r), headers={"Accept": ACCEPT_ALL})
    assert g.status_code == 200 and g.content == body


def test_put_by_digest(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    d = sha256(body)
    r = c.put_manifest(repo, d, body)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d
    g = c.get(c.location(r), headers={"Accept": ACCEPT_ALL})
    assert g.status_code == 200 and g.content == body
    # pushing by digest creates no tag
    assert c.get(f"/v2/{repo}/tags/list").json().get("tags") in (None, [])


def test_put_by_sha512_digest(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    d = sha512(body)
    r = c.put_manifest(repo, d, body)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == d
    g = c.get_manifest(repo, d)
    assert g.status_code == 200 and g.content == body


def test_put_digest_mismatch(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    wrong = sha256(body + b" ")
    r = c.put_manifest(repo, wrong, body)
    assert_error(r, 400, "DIGEST_INVALID")
    assert c.get_manifest(repo, wrong).status_code == 404
    assert c.get_manifest(repo, sha256(body)).status_code == 404


def test_put_malformed_digest_reference(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    r = c.put_manifest(repo, "sha256:nothex", body)
    assert_error(r, 400, "DIGEST_INVALID")


def test_put_same_manifest_twice(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    assert c.put_manifest(repo, "a", body).status_code == 201
    r = c.put_manifest(repo, "a", body)
    assert r.status_code == 201
    assert r.headers.get("Docker-Content-Digest") == sha256(body)


@pytest.mark.parametrize("mt", [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
def test_media_types_roundtrip(c, repo, mt):
    body = _manifest_of_type(c, repo, mt)
    d = sha256(body)
    r = c.put_manifest(repo, "t", body, mt)
    assert r.status_code == 201, (r.status_code, r.text)
    assert r.headers.get("Docker-Content-Digest") == d
    for ref in ("t", d):
        g = c.get_manifest(repo, ref)
        assert g.status_code == 200
        assert g.headers.get("Content-Type") == mt
        assert g.content == body
        assert g.headers.get("Docker-Content-Digest") == d
        assert g.headers.get("Content-Length") == str(len(body))
        h = c.get_manifest(repo, ref, method="HEAD")
        assert h.status_code == 200
        assert h.headers.get("Content-Type") == mt
        assert h.headers.get("Docker-Content-Digest") == d
        assert h.headers.get("Content-Length") == str(len(body))
        assert h.content == b""


def test_bytes_preserved_exactly(c, repo):
    cfg, layers = _blobs(c, repo)
    # odd key order, odd whitespace, escaped unicode, a trailing newline, unknown fields
    doc = {
        "layers": layers,
        "x-custom": {"nested": [1, 2.50, "\u00e9\\u00e9"]},
        "config": cfg,
        "mediaType": OCI_MANIFEST,
        "schemaVersion": 2,
        "annotations": {"a": "caf\u00e9 \U0001F600"},
    }
    body = ("\n\n" + json.dumps(doc, indent=7, ensure_ascii=True) + "   \n").encode()
    r = c.put_manifest(repo, "odd", body)
    assert r.status_code == 201, r.text
    g = c.get_manifest(repo, "odd")
    assert g.content == body
    assert g.headers.get("Docker-Content-Digest") == sha256(body)


def test_manifest_without_media_type_field(c, repo):
    cfg, layers = _blobs(c, repo)
    body = json.dumps({"schemaVersion": 2, "config": cfg, "layers": layers}).encode()
    r = c.put_manifest(repo, "nomt", body, OCI_MANIFEST)
    assert r.status_code == 201
    g = c.get_manifest(repo, "nomt")
    assert g.headers.get("Content-Type") == OCI_MANIFEST
    assert g.content == body


def test_content_type_parameters_ignored(c, repo):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    r = c.put(f"/v2/{repo}/manifests/p", data=body,
              headers={"Content-Type": OCI_MANIFEST + "; charset=utf-8"})
    assert r.status_code == 201
    g = c.get_manifest(repo, "p")
    assert g.headers.get("Content-Type") == OCI_MANIFEST


def test_artifact_manifest_with_empty_config(c, repo):
    c.push_blob(repo, EMPTY_JSON)
    layer = rand_bytes(50)
    c.push_blob(repo, layer)
    body = image_manifest(
        descriptor(OCI_EMPTY, EMPTY_JSON), [descriptor("application/vnd.example.thing", layer)],
        artifact_type="application/vnd.example.thing",
    )
    r = c.put_manifest(repo, "art", body)
    assert r.status_code == 201
    assert c.get_manifest(repo, "art").content == body


def test_manifest_with_no_layers(c, repo):
    c.push_blob(repo, EMPTY_JSON)
    body = image_manifest(descriptor(OCI_EMPTY, EMPTY_JSON), [], artifact_type="application/vnd.example.empty")
    assert c.put_manifest(repo, "nolayers", body).status_code == 201


def test_index_of_index(c, repo):
    inner = _index(c, repo)
    c.push_manifest(repo, sha256(inner), inner, OCI_INDEX)
    outer = index_manifest([descriptor(OCI_INDEX, inner)])
    r = c.put_manifest(repo, "nested", outer, OCI_INDEX)
    assert r.status_code == 201
    assert c.get_manifest(repo, "nested").content == outer


# --- validation ---------------------------------------------------------------------------------


def _schema1(repo, signed):
    m = {
        "schemaVersion": 1,
        "name": repo,
        "tag": "old",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": sha256(b"layer")}],
        "history": [{"v1Compatibility": json.dumps({"id": "a" * 64})}],
    }
    if signed:
        m["signatures"] = [{
            "header": {"jwk": {"crv": "P-256", "kid": "X", "kty": "EC", "x": "x", "y": "y"}, "alg": "ES256"},
            "signature": "c2lnbmF0dXJl",
            "protected": "eyJmb3JtYXRMZW5ndGgiOjEwLCJmb3JtYXRUYWlsIjoiZlEiLCJ0aW1lIjoiMjAyNC0wMS0wMVQwMDowMDowMFoifQ",
        }]
    return json.dumps(m, indent=3).encode()


@pytest.mark.parametrize("mt,signed", [(DOCKER_SCHEMA1_SIGNED, True), (DOCKER_SCHEMA1, False)])
def test_schema1_refused(c, repo, mt, signed):
    r = c.put_manifest(repo, "old", _schema1(repo, signed), mt)
    assert_error(r, 400, "MANIFEST_INVALID")
    assert c.get_manifest(repo, "old").status_code == 404


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b"null", b"\xff\xfe"], ids=range(5))
def test_invalid_json(c, repo, body):
    r = c.put_manifest(repo, "bad", body, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")


def test_missing_config(c, repo):
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
    assert_error(c.put_manifest(repo, "bad", body), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("sv", [1, 3, "2", None])
def test_wrong_schema_version(c, repo, sv):
    cfg, layers = _blobs(c, repo)
    doc = json.loads(image_manifest(cfg, layers))
    doc["schemaVersion"] = sv
    assert_error(c.put_manifest(repo, "bad", json.dumps(doc).encode()), 400, "MANIFEST_INVALID")


def test_media_type_field_contradicts_content_type(c, repo):
    cfg, layers = _blobs(c, repo, docker=True)
    body = image_manifest(cfg, layers, DOCKER_MANIFEST)
    r = c.put_manifest(repo, "bad", body, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")


def test_index_sent_as_image_manifest(c, repo):
    body = _index(c, repo)
    r = c.put_manifest(repo, "bad", body, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")


def test_descriptor_with_bad_digest(c, repo):
    cfg, layers = _blobs(c, repo)
    layers[0]["digest"] = "sha256:nothex"
    assert_error(c.put_manifest(repo, "bad", image_manifest(cfg, layers)), 400, ("MANIFEST_INVALID", "DIGEST_INVALID"))


def _padded(c, repo, size):
    cfg, layers = _blobs(c, repo)
    base = image_manifest(cfg, layers, annotations={"pad": ""})
    pad = size - len(base)
    assert pad > 0
    body = image_manifest(cfg, layers, annotations={"pad": "p" * pad})
    assert len(body) == size
    return body


def test_manifest_of_4mib_accepted(c, repo):
    body = _padded(c, repo, 4 * MiB)
    r = c.put_manifest(repo, "big", body)
    assert r.status_code == 201, (r.status_code, r.text[:300])
    assert c.get_manifest(repo, "big").content == body


def test_manifest_over_4mib_refused(c, repo):
    body = _padded(c, repo, 4 * MiB + 1)
    r = c.put_manifest(repo, "toobig", body)
    assert_error(r, 413, ("SIZE_INVALID", "MANIFEST_INVALID"))
    assert c.get_manifest(repo, "toobig").status_code == 404


def test_huge_manifest_refused(c, repo):
    body = _padded(c, repo, 12 * MiB)
    r = c.put_manifest(repo, "huge", body)
    assert r.status_code == 413


# --- referenced content must exist in the repository ----------------------------------------------


def test_unknown_layer(c, repo):
    cfg, layers = _blobs(c, repo)
    layers.append(descriptor(OCI_LAYER, b"never pushed " + rand_bytes(8)))
    r = c.put_manifest(repo, "bad", image_manifest(cfg, layers))
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_unknown_config(c, repo):
    cfg, layers = _blobs(c, repo)
    cfg = descriptor(OCI_CONFIG, config_blob())
    r = c.put_manifest(repo, "bad", image_manifest(cfg, layers))
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_layer_deleted_before_manifest_push(c, repo):
    cfg, layers = _blobs(c, repo)
    assert c.delete(f"/v2/{repo}/blobs/{layers[0]['digest']}").status_code == 202
    r = c.put_manifest(repo, "bad", image_manifest(cfg, layers))
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_docker_manifest_unknown_layer(c, repo):
    cfg, layers = _blobs(c, repo, docker=True)
    layers = [descriptor(DOCKER_LAYER, rand_bytes(10))]
    r = c.put_manifest(repo, "bad", image_manifest(cfg, layers, DOCKER_MANIFEST), DOCKER_MANIFEST)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_layer_only_in_other_repository(c, wharf, repo):
    other = new_repo(wharf)
    cfg, layers = _blobs(c, other)
    c.push_blob(repo, config_blob())  # repo is not empty, but lacks these blobs
    r = c.put_manifest(repo, "bad", image_manifest(cfg, layers))
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize("mt", [OCI_INDEX, DOCKER_LIST])
def test_index_with_unknown_child(c, repo, mt):
    child_mt = DOCKER_MANIFEST if mt == DOCKER_LIST else OCI_MANIFEST
    d, body = c.push_image(repo, mt=child_mt)
    children = [
        descriptor(child_mt, body, platform={"architecture": "amd64", "os": "linux"}),
        descriptor(child_mt, b'{"never":"pushed"}', platform={"architecture": "arm64", "os": "linux"}),
    ]
    r = c.put_manifest(repo, "bad", index_manifest(children, mt), mt)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_index_with_child_in_other_repository(c, wharf, repo):
    other = new_repo(wharf)
    d, body = c.push_image(other)
    r = c.put_manifest(repo, "bad", index_manifest([descriptor(OCI_MANIFEST, body)]), OCI_INDEX)
    assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")


def test_manifest_not_readable_from_other_repository(c, wharf, repo):
    d, body = c.push_image(repo, "v1")
    other = new_repo(wharf)
    assert_error(c.get_manifest(other, d), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get_manifest(other, "v1"), 404, "MANIFEST_UNKNOWN")


# --- GET / HEAD (end-3) ------------------------------------------------------------------------


def test_get_by_tag_and_digest(c, repo):
    d, body = c.push_image(repo, "v1")
    for ref in ("v1", d):
        g = c.get_manifest(repo, ref)
        assert g.status_code == 200
        assert g.content == body
        assert g.headers.get("Content-Type") == OCI_MANIFEST
        assert g.headers.get("Docker-Content-Digest") == d


def test_get_without_accept(c, repo):
    d, body = c.push_image(repo, "v1")
    g = c.get_manifest(repo, "v1", accept=None)
    assert g.status_code == 200 and g.content == body
    assert g.headers.get("Content-Type") == OCI_MANIFEST


def test_get_with_wildcard_accept(c, repo):
    d, body = c.push_image(repo, "v1")
    g = c.get_manifest(repo, "v1", accept="*/*")
    assert g.status_code == 200 and g.content == body


def test_get_with_weighted_accept(c, repo):
    d, body = c.push_image(repo, "v1")
    g = c.get_manifest(repo, "v1", accept=f"{DOCKER_MANIFEST};q=0.5, {OCI_MANIFEST};q=0.9, */*;q=0.1")
    assert g.status_code == 200 and g.content == body
    assert g.headers.get("Content-Type") == OCI_MANIFEST


@pytest.mark.parametrize("mt", [DOCKER_MANIFEST, DOCKER_LIST, OCI_INDEX])
def test_get_by_digest_never_converts(c, repo, mt):
    # a by-digest pull returns the stored bytes, unconverted
    body = _manifest_of_type(c, repo, mt)
    d = c.push_manifest(repo, "t", body, mt)
    g = c.get_manifest(repo, d, accept=mt)
    assert g.status_code == 200 and g.content == body and g.headers.get("Content-Type") == mt


def test_get_unknown_tag(c, repo):
    c.push_image(repo, "v1")
    assert_error(c.get_manifest(repo, "nosuch"), 404, "MANIFEST_UNKNOWN")


def test_get_unknown_digest(c, repo):
    assert_error(c.get_manifest(repo, fake_digest()), 404, "MANIFEST_UNKNOWN")


def test_head_unknown(c, repo):
    r = c.get_manifest(repo, "nosuch", method="HEAD")
    assert r.status_code == 404 and r.content == b""


def test_get_malformed_digest(c, repo):
    assert_error(c.get_manifest(repo, "sha256:nothex"), 400, "DIGEST_INVALID")


def test_get_blob_digest_as_manifest(c, repo):
    d = c.push_blob(repo, config_blob())
    assert_error(c.get_manifest(repo, d), 404, "MANIFEST_UNKNOWN")


# --- tags ------------------------------------------------------------------------------------------

BAD_TAGS = ["-lead", ".lead", "a" * 129, "bad!tag", "bad+tag", "b%20d"]


@pytest.mark.parametrize("tag", BAD_TAGS, ids=range(len(BAD_TAGS)))
def test_put_invalid_tag(c, repo, tag):
    cfg, layers = _blobs(c, repo)
    r = c.put_manifest(repo, tag, image_manifest(cfg, layers))
    assert_error(r, 400, ("TAG_INVALID", "MANIFEST_INVALID"))


GOOD_TAGS = ["_", "A", "a" * 128, "v1.0-rc_1", "UPPER", "0", "__-..x"]


@pytest.mark.parametrize("tag", GOOD_TAGS, ids=range(len(GOOD_TAGS)))
def test_put_valid_tag_edge_cases(c, repo, tag):
    cfg, layers = _blobs(c, repo)
    body = image_manifest(cfg, layers)
    assert c.put_manifest(repo, tag, body).status_code == 201
    g = c.get_manifest(repo, tag)
    assert g.status_code == 200 and g.content == body
    assert tag in c.get(f"/v2/{repo}/tags/list").json()["tags"]


def test_two_tags_same_manifest(c, repo):
    d, body = c.push_image(repo, "one")
    c.push_manifest(repo, "two", body)
    assert c.get_manifest(repo, "one").headers["Docker-Content-Digest"] == d
    assert c.get_manifest(repo, "two").headers["Docker-Content-Digest"] == d


def test_tag_moves(c, repo):
    d1, b1 = c.push_image(repo, "moving")
    d2, b2 = c.push_image(repo, "moving")
    assert d1 != d2
    assert c.get_manifest(repo, "moving").content == b2
    assert c.get_manifest(repo, d1).content == b1


def test_tags_are_case_sensitive(c, repo):
    d1, b1 = c.push_image(repo, "Case")
    d2, b2 = c.push_image(repo, "case")
    assert c.get_manifest(repo, "Case").content == b1
    assert c.get_manifest(repo, "case").content == b2


# --- DELETE (end-9) ---------------------------------------------------------------------------------


def test_delete_by_digest(c, repo):
    d, body = c.push_image(repo, "v1")
    c.push_manifest(repo, "v2", body)
    r = c.delete(f"/v2/{repo}/manifests/{d}")
    assert r.status_code == 202
    assert_error(c.get_manifest(repo, d), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get_manifest(repo, "v1"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get_manifest(repo, "v2"), 404, "MANIFEST_UNKNOWN")
    assert c.get_manifest(repo, d, method="HEAD").status_code == 404
    tags = c.get(f"/v2/{repo}/tags/list").json().get("tags") or []
    assert "v1" not in tags and "v2" not in tags


def test_delete_by_digest_twice(c, repo):
    d, body = c.push_image(repo, "v1")
    assert c.delete(f"/v2/{repo}/manifests/{d}").status_code == 202
    assert_error(c.delete(f"/v2/{repo}/manifests/{d}"), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag(c, repo):
    d, body = c.push_image(repo, "v1")
    c.push_manifest(repo, "v2", body)
    r = c.delete(f"/v2/{repo}/manifests/v1")
    assert r.status_code == 202
    assert_error(c.get_manifest(repo, "v1"), 404, "MANIFEST_UNKNOWN")
    assert c.get_manifest(repo, "v2").content == body
    assert c.get_manifest(repo, d).content == body
    assert c.get(f"/v2/{repo}/tags/list").json()["tags"] == ["v2"]


def test_delete_unknown_digest(c, repo):
    assert_error(c.delete(f"/v2/{repo}/manifests/{fake_digest()}"), 404, "MANIFEST_UNKNOWN")


def test_delete_unknown_tag(c, repo):
    assert_error(c.delete(f"/v2/{repo}/manifests/nosuch"), 404, "MANIFEST_UNKNOWN")


def test_delete_malformed_digest(c, repo):
    assert_error(c.delete(f"/v2/{repo}/manifests/sha256:nothex"), 400, "DIGEST_INVALID")


def test_push_again_after_delete(c, repo):
    d, body = c.push_image(repo, "v1")
    assert c.delete(f"/v2/{repo}/manifests/{d}").status_code == 202
    assert c.put_manifest(repo, "v1", body).status_code == 201
    assert c.get_manifest(repo, "v1").content == body


def test_delete_in_one_repository_only(c, wharf, repo):
    other = new_repo(wharf)
    d, body = c.push_image(repo, "v1")
    # push the very same manifest into `other` (its blobs first)
    doc = json.loads(body)
    for desc in [doc["config"]] + doc["layers"]:
        data = c.get_blob(repo, desc["digest"]).content
        c.push_blob(other, data)
    c.push_manifest(other, "same", body)
    assert c.delete(f"/v2/{repo}/manifests/{d}").status_code == 202
    assert c.get_manifest(other, d).content == body
    assert c.get_manifest(other, "same").content == body
