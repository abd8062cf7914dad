"""OCI Distribution conformance: API version check, repository names, error bodies.

Spec: opencontainers/distribution-spec spec.md ("Determining Support", "Pulling manifests"
<name> grammar, "Error Codes"); wharf README (repositories must exist; ECR name grammar,
2..256 characters).
"""

import pytest

from ocihelp import (
    ACCEPT_ALL,
    OCI_MANIFEST,
    Client,
    assert_error,
    fake_digest,
    media_type,
    missing_repo,
    rand_bytes,
    sha256,
    unique,
)


@pytest.fixture
def c(wharf):
    return Client(wharf)


# --- end-1 -------------------------------------------------------------------------------------


def test_api_version_check(c):
    r = c.get("/v2/")
    assert r.status_code == 200
    assert r.headers.get("Docker-Distribution-API-Version") == "registry/2.0"


def test_api_version_check_head(c):
    r = c.head("/v2/")
    assert r.status_code == 200
    assert r.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
    assert r.content == b""


def test_unknown_route_is_404(c, repo):
    r = c.get(f"/v2/{repo}/nonsense-endpoint")
    assert r.status_code == 404


# --- repositories must exist (wharf contract) ------------------------------------------------

MISSING_ENDPOINTS = [
    ("GET", "tags/list"),
    ("GET", "manifests/latest"),
    ("HEAD", "manifests/latest"),
    ("GET", "manifests/" + sha256(b"x")),
    ("DELETE", "manifests/" + sha256(b"x")),
    ("GET", "blobs/" + sha256(b"x")),
    ("HEAD", "blobs/" + sha256(b"x")),
    ("DELETE", "blobs/" + sha256(b"x")),
    ("POST", "blobs/uploads/"),
    ("GET", "referrers/" + sha256(b"x")),
]


@pytest.mark.parametrize("method,tail", MISSING_ENDPOINTS, ids=[f"{m}-{t.split('/')[0]}" for m, t in MISSING_ENDPOINTS])
def test_unknown_repository_is_name_unknown(c, method, tail):
    r = c.req(method, f"/v2/{missing_repo()}/{tail}", headers={"Content-Length": "0"})
    assert_error(r, 404, "NAME_UNKNOWN")


def test_unknown_repository_monolithic_post_is_name_unknown(c):
    data = rand_bytes(32)
    r = c.post_blob(missing_repo(), data)
    assert_error(r, 404, "NAME_UNKNOWN")


def test_unknown_repository_manifest_put_is_name_unknown(c, repo):
    # a perfectly valid manifest whose blobs exist in `repo`, pushed to a missing repository
    d, body = c.push_image(repo)
    r = c.put_manifest(missing_repo(), "latest", body, OCI_MANIFEST)
    assert_error(r, 404, "NAME_UNKNOWN")


def test_name_unknown_message_mentions_repository(c):
    name = missing_repo()
    r = c.get(f"/v2/{name}/tags/list")
    assert_error(r, 404, "NAME_UNKNOWN")
    msgs = " ".join(e.get("message", "") for e in r.json()["errors"])
    assert name in msgs


# --- repository name grammar -------------------------------------------------------------------

INVALID_NAMES = [
    "Upper/case",
    "upper/Case",
    "a",  # ECR: at least 2 characters
    "a..b",
    "a._b",
    "a___b",
    "-ab",
    "ab-",
    "ab/-cd",
    "ab/cd_",
    "ab/.cd",
    "a%20b",
    "a+b",
    "ab/c$d",
    "x" * 257,
    "/".join(["abcdefg"] * 32) + "/x",  # 257 characters
]


@pytest.mark.parametrize("name", INVALID_NAMES, ids=range(len(INVALID_NAMES)))
def test_invalid_name_is_name_invalid(c, name):
    r = c.get(f"/v2/{name}/tags/list")
    assert_error(r, 400, "NAME_INVALID")


@pytest.mark.parametrize(
    "method,tail",
    [
        ("GET", "manifests/latest"),
        ("PUT", "manifests/latest"),
        ("GET", "blobs/" + sha256(b"x")),
        ("POST", "blobs/uploads/"),
        ("GET", "referrers/" + sha256(b"x")),
    ],
)
def test_invalid_name_on_every_endpoint(c, repo, method, tail):
    body = b""
    if method == "PUT":
        # a well-formed manifest (its blobs exist in `repo`): the name is the only problem
        d, body = c.push_image(repo)
    r = c.req(method, f"/v2/Bad_Name/{tail}", data=body, headers={"Content-Type": OCI_MANIFEST})
    assert_error(r, 400, "NAME_INVALID")


VALID_MISSING_NAMES = [
    "ab",
    "a__b/c",
    "a---b",
    "a.b_c-d",
    "0a/1b",
    "a/b/c/d/e/f/g/h",
    "x" * 256,
]


@pytest.mark.parametrize("name", VALID_MISSING_NAMES, ids=range(len(VALID_MISSING_NAMES)))
def test_valid_names_are_not_name_invalid(c, name):
    # unique suffix where the length allows, so nothing exists under that name
    if len(name) < 200:
        name = f"{name}/{unique()}"
    r = c.get(f"/v2/{name}/tags/list")
    assert_error(r, 404, "NAME_UNKNOWN")


def _roundtrip(c, name):
    d, body = c.push_image(name, "v1")
    r = c.get_manifest(name, "v1")
    assert r.status_code == 200 and r.content == body
    r = c.get(f"/v2/{name}/tags/list")
    assert r.status_code == 200
    assert r.json() == {"name": name, "tags": ["v1"]}


def test_name_of_256_characters_works(c, wharf):
    prefix = f"long{unique()}/"
    name = prefix + "n" * (256 - len(prefix))
    assert len(name) == 256
    wharf.create_repo(name)
    _roundtrip(c, name)


def test_deeply_nested_name_works(c, wharf):
    name = f"deep{unique()}/a/b/c/d/e/f/g/h/i/j"
    wharf.create_repo(name)
    _roundtrip(c, name)


def test_name_with_route_keywords_works(c, wharf):
    # path components that are also route words must not confuse the router
    name = f"kw{unique()}/v2/manifests/blobs/uploads/tags/list/referrers"
    wharf.create_repo(name)
    _roundtrip(c, name)
    data = rand_bytes(100)
    d = c.push_blob(name, data)
    r = c.get_blob(name, d)
    assert r.status_code == 200 and r.content == data
    r = c.get(f"/v2/{name}/referrers/{fake_digest()}")
    assert r.status_code == 200


def test_name_with_ecr_separators_works(c, wharf):
    name = f"sep{unique()}/a__b/c---d/e.f_g"
    wharf.create_repo(name)
    _roundtrip(c, name)


# --- error body shape ----------------------------------------------------------------------------


def test_error_body_shape(c, repo):
    responses = [
        c.get(f"/v2/{repo}/blobs/{fake_digest()}"),
        c.get(f"/v2/{repo}/manifests/nosuchtag", headers={"Accept": ACCEPT_ALL}),
        c.get(f"/v2/{missing_repo()}/tags/list"),
        c.put_manifest(repo, "latest", b"{not json", OCI_MANIFEST),
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        assert media_type(r) == "application/json", r.headers.get("Content-Type")
        body = r.json()
        assert set(body) == {"errors"}, body
        for e in body["errors"]:
            assert set(e) <= {"code", "message", "detail"}, e
            assert e["code"].isupper() and set(e["code"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
            assert isinstance(e.get("message", ""), str)
