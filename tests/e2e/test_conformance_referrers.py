"""OCI Distribution v1.1 conformance: manifests with a `subject` (OCI-Subject) and the
referrers API (end-12a, end-12b).
"""

import pytest

from ocihelp import (
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Client,
    assert_error,
    descriptor,
    fake_digest,
    image_manifest,
    index_manifest,
    media_type,
    missing_repo,
    new_repo,
    rand_bytes,
    sha256,
    sha512,
    unique,
)

SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


@pytest.fixture
def c(wharf):
    return Client(wharf)


@pytest.fixture
def subject(c, repo):
    d, body = c.push_image(repo, "subject")
    return descriptor(OCI_MANIFEST, body)


def _artifact(c, repo, subject, artifact_type=SBOM, annotations=None, config_mt=OCI_EMPTY, tag=None):
    """Push an artifact manifest that refers to `subject`; returns (digest, body, PUT response)."""
    c.push_blob(repo, EMPTY_JSON)
    layer = rand_bytes(40)
    c.push_blob(repo, layer)
    body = image_manifest(
        descriptor(config_mt, EMPTY_JSON),
        [descriptor("application/vnd.example.data", layer)],
        artifact_type=artifact_type,
        subject=subject,
        annotations=annotations if annotations is not None else {"org.example.id": unique()},
    )
    d = sha256(body)
    r = c.put_manifest(repo, tag or d, body)
    return d, body, r


def _referrers(c, repo, digest, **params):
    r = c.get(f"/v2/{repo}/referrers/{digest}", params=params)
    assert r.status_code == 200, (r.status_code, r.text)
    assert media_type(r) == OCI_INDEX
    idx = r.json()
    assert idx["schemaVersion"] == 2
    assert idx["mediaType"] == OCI_INDEX
    assert isinstance(idx["manifests"], list)
    return idx["manifests"], r


def _by_digest(descs):
    return {d["digest"]: d for d in descs}


# --- OCI-Subject -------------------------------------------------------------------------------


def test_put_with_subject_returns_oci_subject(c, repo, subject):
    d, body, r = _artifact(c, repo, subject)
    assert r.status_code == 201
    assert r.headers.get("OCI-Subject") == subject["digest"]


def test_put_without_subject_has_no_oci_subject(c, repo):
    d, body = c.push_image(repo)
    r = c.put_manifest(repo, "again", body)
    assert r.status_code == 201
    assert "OCI-Subject" not in r.headers


def test_subject_may_not_exist_yet(c, repo):
    missing = {"mediaType": OCI_MANIFEST, "digest": fake_digest(), "size": 123}
    d, body, r = _artifact(c, repo, missing)
    assert r.status_code == 201
    assert r.headers.get("OCI-Subject") == missing["digest"]
    descs, _ = _referrers(c, repo, missing["digest"])
    assert [x["digest"] for x in descs] == [d]


def test_index_with_subject_returns_oci_subject(c, repo, subject):
    d, child = c.push_image(repo)
    body = index_manifest([descriptor(OCI_MANIFEST, child)], artifact_type=SIG, subject=subject,
                          annotations={"k": "v"})
    r = c.put_manifest(repo, sha256(body), body, OCI_INDEX)
    assert r.status_code == 201
    assert r.headers.get("OCI-Subject") == subject["digest"]


# --- referrers list ------------------------------------------------------------------------------


def test_referrers_empty(c, repo, subject):
    descs, r = _referrers(c, repo, subject["digest"])
    assert descs == []
    assert r.headers.get("OCI-Filters-Applied") is None


def test_referrers_unknown_digest_is_empty(c, repo):
    descs, _ = _referrers(c, repo, fake_digest())
    assert descs == []


def test_referrers_lists_artifact(c, repo, subject):
    ann = {"org.example.id": unique(), "org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    d, body, r = _artifact(c, repo, subject, annotations=ann)
    assert r.status_code == 201
    descs, _ = _referrers(c, repo, subject["digest"])
    assert descs == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": d,
            "size": len(body),
            "artifactType": SBOM,
            "annotations": ann,
        }
    ]


def test_referrers_several(c, repo, subject):
    ds = set()
    for at in (SBOM, SIG, SBOM):
        d, body, r = _artifact(c, repo, subject, artifact_type=at)
        assert r.status_code == 201
        ds.add(d)
    descs, _ = _referrers(c, repo, subject["digest"])
    assert {x["digest"] for x in descs} == ds
    assert len(descs) == 3


def test_referrers_artifact_type_from_config(c, repo, subject):
    # no artifactType: the descriptor takes the config's mediaType
    cfg_mt = "application/vnd.example.config.v1+json"
    d, body, r = _artifact(c, repo, subject, artifact_type=None, config_mt=cfg_mt)
    assert r.status_code == 201
    descs, _ = _referrers(c, repo, subject["digest"])
    assert len(descs) == 1
    assert descs[0]["artifactType"] == cfg_mt


def test_referrers_index_without_artifact_type(c, repo, subject):
    d, child = c.push_image(repo)
    body = index_manifest([descriptor(OCI_MANIFEST, child)], subject=subject, annotations={"k": "v"})
    assert c.put_manifest(repo, sha256(body), body, OCI_INDEX).status_code == 201
    descs, _ = _referrers(c, repo, subject["digest"])
    assert descs == [{"mediaType": OCI_INDEX, "digest": sha256(body), "size": len(body),
                      "annotations": {"k": "v"}}]


def test_referrers_index_with_artifact_type(c, repo, subject):
    d, child = c.push_image(repo)
    body = index_manifest([descriptor(OCI_MANIFEST, child)], artifact_type=SIG, subject=subject)
    assert c.put_manifest(repo, sha256(body), body, OCI_INDEX).status_code == 201
    descs, _ = _referrers(c, repo, subject["digest"])
    assert len(descs) == 1
    assert descs[0]["mediaType"] == OCI_INDEX
    assert descs[0]["artifactType"] == SIG
    assert "annotations" not in descs[0] or descs[0]["annotations"] == {}


def test_referrers_tagged_artifact(c, repo, subject):
    d, body, r = _artifact(c, repo, subject, tag="sbom")
    assert r.status_code == 201
    descs, _ = _referrers(c, repo, subject["digest"])
    assert [x["digest"] for x in descs] == [d]


def test_referrers_filter(c, repo, subject):
    d1, _, _ = _artifact(c, repo, subject, artifact_type=SBOM)
    d2, _, _ = _artifact(c, repo, subject, artifact_type=SIG)
    descs, r = _referrers(c, repo, subject["digest"], artifactType=SBOM)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert [x["digest"] for x in descs] == [d1]
    descs, r = _referrers(c, repo, subject["digest"], artifactType=SIG)
    assert [x["digest"] for x in descs] == [d2]


def test_referrers_filter_no_match(c, repo, subject):
    _artifact(c, repo, subject, artifact_type=SBOM)
    descs, r = _referrers(c, repo, subject["digest"], artifactType="application/vnd.none")
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert descs == []


def test_referrers_filter_matches_config_media_type(c, repo, subject):
    cfg_mt = "application/vnd.example.config.v1+json"
    d, _, _ = _artifact(c, repo, subject, artifact_type=None, config_mt=cfg_mt)
    _artifact(c, repo, subject, artifact_type=SBOM)
    descs, r = _referrers(c, repo, subject["digest"], artifactType=cfg_mt)
    assert [x["digest"] for x in descs] == [d]


def test_referrers_of_artifact(c, repo, subject):
    # a chain: signature -> sbom -> image
    d1, b1, _ = _artifact(c, repo, subject, artifact_type=SBOM)
    d2, b2, _ = _artifact(c, repo, descriptor(OCI_MANIFEST, b1), artifact_type=SIG)
    assert [x["digest"] for x in _referrers(c, repo, subject["digest"])[0]] == [d1]
    assert [x["digest"] for x in _referrers(c, repo, d1)[0]] == [d2]


def test_referrers_after_referrer_deleted(c, repo, subject):
    d1, _, _ = _artifact(c, repo, subject)
    d2, _, _ = _artifact(c, repo, subject)
    assert c.delete(f"/v2/{repo}/manifests/{d1}").status_code == 202
    descs, _ = _referrers(c, repo, subject["digest"])
    assert [x["digest"] for x in descs] == [d2]


def test_referrers_scoped_to_repository(c, wharf, repo, subject):
    _artifact(c, repo, subject)
    other = new_repo(wharf)
    descs, _ = _referrers(c, other, subject["digest"])
    assert descs == []


def test_referrers_sha512_subject(c, repo):
    d, body = c.push_image(repo)
    subj = {"mediaType": OCI_MANIFEST, "digest": sha512(body),
            "size": len(body)}
    ad, _, r = _artifact(c, repo, subj)
    assert r.status_code == 201
    assert r.headers.get("OCI-Subject") == subj["digest"]
    descs, _ = _referrers(c, repo, subj["digest"])
    assert [x["digest"] for x in descs] == [ad]


def test_referrers_malformed_digest(c, repo):
    r = c.get(f"/v2/{repo}/referrers/sha256:nothex")
    assert_error(r, 400, "DIGEST_INVALID")


def test_referrers_tag_instead_of_digest(c, repo):
    r = c.get(f"/v2/{repo}/referrers/latest")
    assert_error(r, 400, "DIGEST_INVALID")


def test_referrers_unknown_repository(c):
    assert_error(c.get(f"/v2/{missing_repo()}/referrers/{fake_digest()}"), 404, "NAME_UNKNOWN")


def test_subject_manifest_deleted_referrers_remain_listed(c, repo, subject):
    d, _, _ = _artifact(c, repo, subject)
    assert c.delete(f"/v2/{repo}/manifests/{subject['digest']}").status_code == 202
    descs, _ = _referrers(c, repo, subject["digest"])
    # the referrer still exists (nothing deleted it), so it is still listed
    if c.get_manifest(repo, d).status_code == 200:
        assert [x["digest"] for x in descs] == [d]
    else:
        assert descs == []
