"""The ECR API for images, through boto3 against a real server: PutImage, BatchGetImage,
BatchDeleteImage, DescribeImages, ListImages and ListImageReferrers.

What this proves:
* one domain, two doors: a manifest put with PutImage (its blobs pushed through /v2) is
  pulled through /v2 byte for byte, and one pushed through /v2 comes back from
  BatchGetImage as the very same text; both doors record pulls (`lastRecordedPullTime`);
* each operation's output shape and documented errors (per-item `failures` of the batch
  operations, exceptions otherwise), ECR's tag rules (a moved tag leaves the old image
  untagged, deleting a last tag deletes the image unless an index lists it, immutable tags
  and their exclusion filters on both doors);
* `imageSizeInBytes` (the layers, not the config; an index: its largest child);
* paging over 1,050 images with the botocore paginators: every image exactly once;
* a validation table: bad input goes in raw (signed by botocore, past boto3's own checks)
  and gets the exact exception;
* every operation needs its `ecr:` action (ListImageReferrers: `ecr:BatchGetImage`).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1,
                     OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Client,
                     assert_error, config_blob, descriptor, dumps, fake_digest, image_manifest,
                     index_manifest, sha256, unique)

ACCOUNT = h.DEFAULT_ACCOUNT
MiB = 1024 * 1024
SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1+json"


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    # pulls are flushed to the metadata store every second (default 5 s)
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0", "--pull-flush-secs", "1"])


@pytest.fixture(scope="module")
def admin(srv):
    return h.admin_key(srv)


@pytest.fixture(scope="module")
def ecr(srv, admin):
    return h.ecr(srv, admin)


@pytest.fixture(scope="module")
def oci(srv):
    return Client(srv)


@pytest.fixture
def repo(ecr):
    """A fresh repository (created through the API)."""
    name = f"images/{unique()}"
    ecr.create_repository(repositoryName=name)
    return name


def error(excinfo) -> tuple[str, str]:
    _, code, message = h.client_error(excinfo)
    return code, message


def raises(call) -> tuple[str, str]:
    """(code, message) of the ClientError `call()` raises."""
    with pytest.raises(ClientError) as e:
        call()
    return error(e)


def not_found(name: str) -> tuple[str, str]:
    return ("RepositoryNotFoundException",
            f"The repository with name '{name}' does not exist in the registry with id '{ACCOUNT}'")


def layer(marker: str, size: int) -> bytes:
    """`size` bytes, unique to `marker`."""
    return (marker * (size // len(marker) + 1)).encode()[:size]


def push_blobs(c: Client, repo: str, marker: str, sizes=(64,), docker: bool = False):
    """Config + layers of the given sizes, pushed through /v2: (config, [layers])
    descriptors."""
    cfg = config_blob(marker)
    c.push_blob(repo, cfg)
    layers = []
    for i, n in enumerate(sizes):
        data = layer(f"{marker}-{i}-", n)
        c.push_blob(repo, data)
        layers.append(descriptor(DOCKER_LAYER if docker else OCI_LAYER, data))
    return descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, cfg), layers


def new_manifest(c: Client, repo: str, sizes=(64,), docker: bool = False, **kw) -> bytes:
    """An image manifest whose blobs are in `repo` (not the manifest itself)."""
    marker = unique()
    cfg, layers = push_blobs(c, repo, marker, sizes, docker)
    return image_manifest(cfg, layers, DOCKER_MANIFEST if docker else OCI_MANIFEST, **kw)


def put(ecr, repo: str, body: bytes, tag: str | None = None, **kw) -> dict:
    if tag is not None:
        kw["imageTag"] = tag
    return ecr.put_image(repositoryName=repo, imageManifest=body.decode(), **kw)["image"]


def details(ecr, repo: str, **kw) -> dict:
    """DescribeImages, all pages: {digest: detail}."""
    out = {}
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo, **kw):
        for d in page["imageDetails"]:
            assert d["imageDigest"] not in out, f"{d['imageDigest']} listed twice"
            out[d["imageDigest"]] = d
    return out


def detail(ecr, repo: str, digest: str) -> dict:
    got = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"]
    assert len(got) == 1, got
    return got[0]


def image_ids(ecr, repo: str, **kw) -> list[tuple[str, str | None]]:
    """ListImages, all pages: [(digest, tag or None)]."""
    out = []
    for page in ecr.get_paginator("list_images").paginate(repositoryName=repo, **kw):
        out += [(i["imageDigest"], i.get("imageTag")) for i in page["imageIds"]]
    return out


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# --------------------------------------------------------------------------- two doors
def test_put_image_is_pulled_through_v2_byte_identical(srv, ecr, oci, repo):
    cfg, layers = push_blobs(oci, repo, unique())
    # not what a JSON encoder of ours would write: odd indentation, key order, non-ASCII
    # text and a trailing newline must all survive
    text = ('{\n   "schemaVersion" : 2,\n"mediaType":"' + OCI_MANIFEST + '",\n'
            '      "config": ' + json.dumps(cfg) + ',"layers":' + json.dumps(layers, indent=1)
            + ',\n "annotations": {"description": "caf\u00e9 \u2615 \U0001f433"}\n}\n')
    body = text.encode()
    before = now()
    image = ecr.put_image(repositoryName=repo, imageManifest=text, imageTag="v1")["image"]
    assert image == {"registryId": ACCOUNT, "repositoryName": repo,
                     "imageId": {"imageDigest": sha256(body), "imageTag": "v1"},
                     "imageManifest": text, "imageManifestMediaType": OCI_MANIFEST}
    for ref in ("v1", sha256(body)):
        r = oci.get_manifest(repo, ref)
        assert r.status_code == 200, r.text
        assert r.content == body, "the bytes PutImage was given"
        assert r.headers["Docker-Content-Digest"] == sha256(body)
        assert r.headers["Content-Type"] == OCI_MANIFEST
    d = detail(ecr, repo, sha256(body))
    assert d["imageTags"] == ["v1"]
    assert before - datetime.timedelta(seconds=2) <= d["imagePushedAt"] <= now() + datetime.timedelta(seconds=2)


def test_v2_push_is_returned_by_batch_get_image_byte_identical(ecr, oci, repo):
    oci_digest, oci_body = oci.push_image(repo, "oci")
    docker_body = new_manifest(oci, repo, docker=True)
    docker_digest = oci.push_manifest(repo, "docker", docker_body, DOCKER_MANIFEST)
    # a manifest with non-ASCII bytes, pushed as they are
    odd = new_manifest(oci, repo, annotations={"note": "gr\u00fc\u00dfe \u2603"}).replace(b"  ", b"\t")
    odd_digest = oci.push_manifest(repo, sha256(odd), odd)

    got = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "oci"}, {"imageDigest": docker_digest}, {"imageDigest": odd_digest},
        {"imageDigest": oci_digest, "imageTag": "oci"}])
    assert got["failures"] == []
    images = got["images"]
    assert [i["imageId"] for i in images] == [
        {"imageDigest": oci_digest, "imageTag": "oci"}, {"imageDigest": docker_digest},
        {"imageDigest": odd_digest}, {"imageDigest": oci_digest, "imageTag": "oci"}]
    assert [i["imageManifest"].encode() for i in images] == [oci_body, docker_body, odd, oci_body]
    assert [i["imageManifestMediaType"] for i in images] == [OCI_MANIFEST, DOCKER_MANIFEST, OCI_MANIFEST,
                                                             OCI_MANIFEST]
    assert {(i["registryId"], i["repositoryName"]) for i in images} == {(ACCOUNT, repo)}


def _pulled_at(ecr, repo: str, digest: str):
    return detail(ecr, repo, digest).get("lastRecordedPullTime")


def _wait_pull_time(ecr, repo: str, digest: str, newer_than=None, timeout: float = 6.0):
    """lastRecordedPullTime of `digest` once it is set (and newer than `newer_than`);
    pulls are flushed every second here."""
    deadline = time.monotonic() + timeout
    while True:
        t = _pulled_at(ecr, repo, digest)
        if t is not None and (newer_than is None or t > newer_than):
            return t
        assert time.monotonic() < deadline, f"lastRecordedPullTime of {digest} stayed {t}"
        time.sleep(0.2)


def test_pulls_through_either_door_move_last_recorded_pull_time(ecr, oci, repo):
    headed, _ = oci.push_image(repo, "headed")
    pulled, _ = oci.push_image(repo, "pulled")
    assert _pulled_at(ecr, repo, pulled) is None, "omitted until pulled"
    pushed_at = detail(ecr, repo, pulled)["imagePushedAt"]

    assert oci.get_manifest(repo, "headed", method="HEAD").status_code == 200
    assert oci.get_manifest(repo, "pulled").status_code == 200
    t1 = _wait_pull_time(ecr, repo, pulled)
    assert pushed_at <= t1 <= now() + datetime.timedelta(seconds=1)
    assert _pulled_at(ecr, repo, headed) is None, "a HEAD is no pull (it was flushed with the GET)"
    # DescribeImages and ListImages are no pulls either
    ecr.list_images(repositoryName=repo)
    time.sleep(1.5)
    assert _pulled_at(ecr, repo, pulled) == t1

    time.sleep(0.01)
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "pulled"}, {"imageTag": "headed"}])
    assert len(got["images"]) == 2
    t2 = _wait_pull_time(ecr, repo, pulled, newer_than=t1)
    assert t2 <= now() + datetime.timedelta(seconds=1)
    assert _wait_pull_time(ecr, repo, headed) >= t2 - datetime.timedelta(seconds=1)


# --------------------------------------------------------------------------- PutImage
def test_put_image_rules(ecr, oci, repo):
    body = new_manifest(oci, repo)
    digest = sha256(body)
    assert put(ecr, repo, body)["imageId"] == {"imageDigest": digest}, "untagged"
    assert image_ids(ecr, repo) == [(digest, None)]
    code, message = raises(lambda: put(ecr, repo, body))
    assert code == "ImageAlreadyExistsException", message
    assert digest in message

    assert put(ecr, repo, body, "v1", imageDigest=digest)["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert put(ecr, repo, body, "v2")["imageId"]["imageTag"] == "v2", "a second tag on the same image"
    code, message = raises(lambda: put(ecr, repo, body, "v1"))
    assert code == "ImageAlreadyExistsException", "nothing would change"
    assert ("Image with digest '%s' and tag 'v1' already exists in the repository with name '%s' in registry "
            "with id '%s'" % (digest, repo, ACCOUNT)) == message
    assert sorted(detail(ecr, repo, digest)["imageTags"]) == ["v1", "v2"]

    # a mutable tag moves; the image it leaves keeps its other tag
    other = new_manifest(oci, repo)
    put(ecr, repo, other, "v1")
    assert detail(ecr, repo, digest)["imageTags"] == ["v2"]
    assert detail(ecr, repo, sha256(other))["imageTags"] == ["v1"]
    assert oci.get_manifest(repo, "v1").content == other
    put(ecr, repo, other, "v2")
    assert "imageTags" not in detail(ecr, repo, digest), "untagged, still there"

    # the digest must be the manifest's
    third = new_manifest(oci, repo)
    code, message = raises(lambda: put(ecr, repo, third, "v3", imageDigest=digest))
    assert code == "ImageDigestDoesNotMatchException", message
    assert digest in message and sha256(third) in message
    code, _ = raises(lambda: put(ecr, repo, third, "v3",
                                 imageDigest="sha512:" + "0" * 128))
    assert code == "ImageDigestDoesNotMatchException"
    assert ("v3" not in {t for _, t in image_ids(ecr, repo)}), "nothing stored"

    # without "mediaType" in the body, imageManifestMediaType says what it is
    m = json.loads(new_manifest(oci, repo, docker=True))
    del m["mediaType"]
    bare = dumps(m)
    image = put(ecr, repo, bare, "docker", imageManifestMediaType=DOCKER_MANIFEST)
    assert image["imageManifestMediaType"] == DOCKER_MANIFEST
    assert oci.get_manifest(repo, "docker").headers["Content-Type"] == DOCKER_MANIFEST


def test_put_image_needs_the_blobs_and_the_children(ecr, oci, repo):
    cfg, layers = push_blobs(oci, repo, unique())
    missing_layer = descriptor(OCI_LAYER, b"never pushed " + unique().encode())
    body = image_manifest(cfg, layers + [missing_layer])
    code, message = raises(lambda: put(ecr, repo, body, "v1"))
    assert code == "LayersNotFoundException", message
    assert missing_layer["digest"] in message and layers[0]["digest"] not in message
    missing_cfg = image_manifest(descriptor(OCI_CONFIG, b'{"never":"pushed"}'), layers)
    assert raises(lambda: put(ecr, repo, missing_cfg))[0] == "LayersNotFoundException"

    child = new_manifest(oci, repo)
    put(ecr, repo, child)
    absent = descriptor(OCI_MANIFEST, b"absent child " + unique().encode())
    index = index_manifest([descriptor(OCI_MANIFEST, child), absent])
    code, message = raises(lambda: put(ecr, repo, index, "multi"))
    assert code == "ReferencedImagesNotFoundException", message
    assert absent["digest"] in message
    assert image_ids(ecr, repo) == [(sha256(child), None)], "nothing else stored"

    ok = index_manifest([descriptor(OCI_MANIFEST, child)])
    image = put(ecr, repo, ok, "multi")
    assert image["imageManifestMediaType"] == OCI_INDEX
    assert oci.get_manifest(repo, "multi").content == ok

    assert raises(lambda: put(ecr, "images/none", child, "v1")) == not_found("images/none")


def test_immutable_tags_on_both_doors(ecr, oci):
    name = f"images/imm-{unique()}"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    first = new_manifest(oci, name)
    put(ecr, name, first, "v1")
    second = new_manifest(oci, name)
    message = ("The image tag 'v1' already exists in the '%s' repository and cannot be overwritten because the "
               "tag is immutable." % name)
    assert raises(lambda: put(ecr, name, second, "v1")) == ("ImageTagAlreadyExistsException", message)
    # not even the same manifest under the same tag again (as on /v2: ECR refuses it too)
    assert raises(lambda: put(ecr, name, first, "v1")) == ("ImageTagAlreadyExistsException", message)
    assert_error(oci.put_manifest(name, "v1", first), 400, "TAG_INVALID")
    r = oci.put_manifest(name, "v1", second)
    assert_error(r, 400, "TAG_INVALID")
    assert message in r.text
    # a tag pushed through /v2 is just as immutable through the API
    assert oci.put_manifest(name, "v2", second).status_code == 201
    assert raises(lambda: put(ecr, name, first, "v2"))[0] == "ImageTagAlreadyExistsException"
    assert oci.get_manifest(name, "v1").content == first and oci.get_manifest(name, "v2").content == second
    # untagged pushes and new tags are fine
    third = new_manifest(oci, name)
    put(ecr, name, third)
    put(ecr, name, third, "v3")

    ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                 imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}])
    put(ecr, name, first, "dev-1")
    put(ecr, name, second, "dev-1")
    assert oci.put_manifest(name, "dev-1", third).status_code == 201, "excluded: mutable"
    assert raises(lambda: put(ecr, name, first, "v3"))[0] == "ImageTagAlreadyExistsException"

    ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE_WITH_EXCLUSION",
                                 imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD",
                                                                      "filter": "release-*"}])
    put(ecr, name, first, "v3")
    put(ecr, name, first, "release-1")
    assert raises(lambda: put(ecr, name, second, "release-1"))[0] == "ImageTagAlreadyExistsException"
    assert_error(oci.put_manifest(name, "release-1", second), 400, "TAG_INVALID")
    assert oci.get_manifest(name, "release-1").content == first


# --------------------------------------------------------------------------- BatchGetImage
def test_batch_get_image_failures(ecr, oci, repo):
    a, a_body = oci.push_image(repo, "a")
    b, _ = oci.push_image(repo, "b")
    missing = fake_digest()
    ids = [
        {"imageTag": "a"},
        {"imageTag": "nope"},
        {"imageDigest": missing},
        {"imageDigest": "sha256:xyz"},
        {"imageTag": "bad tag!"},
        {},
        {"imageDigest": b, "imageTag": "a"},
        {"imageDigest": a, "imageTag": "a"},
    ]
    got = ecr.batch_get_image(repositoryName=repo, imageIds=ids)
    assert [i["imageId"] for i in got["images"]] == [{"imageDigest": a, "imageTag": "a"}] * 2
    assert got["images"][0]["imageManifest"].encode() == a_body
    failures = [(f["imageId"], f["failureCode"]) for f in got["failures"]]
    assert failures == [
        ({"imageTag": "nope"}, "ImageNotFound"),
        ({"imageDigest": missing}, "ImageNotFound"),
        ({"imageDigest": "sha256:xyz"}, "InvalidImageDigest"),
        ({"imageTag": "bad tag!"}, "InvalidImageTag"),
        ({}, "MissingDigestAndTag"),
        ({"imageDigest": b, "imageTag": "a"}, "ImageTagDoesNotMatchDigest"),
    ]
    assert all(f["failureReason"] for f in got["failures"])

    # acceptedMediaTypes: an OCI image is not a Docker schema 2 one
    docker_only = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "a"}],
                                      acceptedMediaTypes=[DOCKER_MANIFEST])
    assert docker_only["images"] == []
    assert [(f["imageId"], f["failureCode"]) for f in docker_only["failures"]] == [
        ({"imageTag": "a"}, "UnsupportedImageType")]
    both = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "a"}],
                               acceptedMediaTypes=[DOCKER_MANIFEST, OCI_MANIFEST])
    assert [i["imageId"]["imageDigest"] for i in both["images"]] == [a] and both["failures"] == []

    assert raises(lambda: ecr.batch_get_image(repositoryName="images/none", imageIds=[{"imageTag": "a"}])) \
        == not_found("images/none")


# --------------------------------------------------------------------------- BatchDeleteImage
def test_batch_delete_image_rules(ecr, oci, repo):
    a = put(ecr, repo, new_manifest(oci, repo), "a1")["imageId"]["imageDigest"]
    put(ecr, repo, oci.get_manifest(repo, "a1").content, "a2")
    b = put(ecr, repo, new_manifest(oci, repo), "b1")["imageId"]["imageDigest"]
    put(ecr, repo, oci.get_manifest(repo, "b1").content, "b2")
    missing = fake_digest()

    # by tag: only the tag, while the image has another
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a1"}])
    assert out == {"imageIds": [{"imageDigest": a, "imageTag": "a1"}], "failures": [],
                   "ResponseMetadata": out["ResponseMetadata"]}
    assert detail(ecr, repo, a)["imageTags"] == ["a2"]
    assert_error(oci.get_manifest(repo, "a1"), 404, "MANIFEST_UNKNOWN")

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageDigest": b},                        # with all its tags
        {"imageTag": "a2"},                        # its last tag: the image goes too
        {"imageDigest": b, "imageTag": "b1"},      # gone already
        {"imageTag": "nope"},
        {"imageDigest": missing},
        {"imageDigest": "sha256:1234"},
        {},
    ])
    assert out["imageIds"] == [{"imageDigest": b}, {"imageDigest": a, "imageTag": "a2"}]
    assert [(f["imageId"], f["failureCode"]) for f in out["failures"]] == [
        ({"imageDigest": b, "imageTag": "b1"}, "ImageNotFound"),
        ({"imageTag": "nope"}, "ImageNotFound"),
        ({"imageDigest": missing}, "ImageNotFound"),
        ({"imageDigest": "sha256:1234"}, "InvalidImageDigest"),
        ({}, "MissingDigestAndTag"),
    ]
    assert image_ids(ecr, repo) == []
    for ref in ("b1", "b2", a, b):
        assert_error(oci.get_manifest(repo, ref), 404, "MANIFEST_UNKNOWN")

    # tag and digest that do not belong together
    c = put(ecr, repo, new_manifest(oci, repo), "c")["imageId"]["imageDigest"]
    d = put(ecr, repo, new_manifest(oci, repo), "d")["imageId"]["imageDigest"]
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": c, "imageTag": "d"}])
    assert out["imageIds"] == []
    assert [(f["imageId"], f["failureCode"]) for f in out["failures"]] == [
        ({"imageDigest": c, "imageTag": "d"}, "ImageTagDoesNotMatchDigest")]
    assert sorted(image_ids(ecr, repo)) == sorted([(c, "c"), (d, "d")]), "nothing deleted"
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": c, "imageTag": "c"}])
    assert out["imageIds"] == [{"imageDigest": c, "imageTag": "c"}] and out["failures"] == []
    assert image_ids(ecr, repo) == [(d, "d")]

    assert raises(lambda: ecr.batch_delete_image(repositoryName="images/none", imageIds=[{"imageTag": "a"}])) \
        == not_found("images/none")


def test_batch_delete_image_of_an_index_child(ecr, oci, repo):
    child_body = new_manifest(oci, repo)
    child = put(ecr, repo, child_body, "child")["imageId"]["imageDigest"]
    index_body = index_manifest([descriptor(OCI_MANIFEST, child_body)])
    index = put(ecr, repo, index_body, "multi")["imageId"]["imageDigest"]

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": child}])
    assert out["imageIds"] == []
    assert [(f["imageId"], f["failureCode"]) for f in out["failures"]] == [
        ({"imageDigest": child}, "ImageReferencedByManifestList")]
    assert detail(ecr, repo, child)["imageTags"] == ["child"], "nothing deleted"

    # its last tag goes; the image stays, untagged, for the index
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "child"}])
    assert out["imageIds"] == [{"imageDigest": child, "imageTag": "child"}] and out["failures"] == []
    assert "imageTags" not in detail(ecr, repo, child)
    assert oci.get_manifest(repo, child).content == child_body

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": index}, {"imageDigest": child}])
    assert out["imageIds"] == [{"imageDigest": index}, {"imageDigest": child}] and out["failures"] == []
    assert image_ids(ecr, repo) == []


# --------------------------------------------------------------------------- DescribeImages
def test_describe_images_details_and_sizes(ecr, oci, repo):
    small_body = new_manifest(oci, repo, sizes=(100, 250))
    small = put(ecr, repo, small_body, "small")["imageId"]["imageDigest"]
    big_body = new_manifest(oci, repo, sizes=(1000, 24, 1), docker=True)
    big = put(ecr, repo, big_body, "big")["imageId"]["imageDigest"]
    ecr.put_image(repositoryName=repo, imageManifest=big_body.decode(), imageTag="latest")
    index_body = index_manifest([descriptor(OCI_MANIFEST, small_body), descriptor(DOCKER_MANIFEST, big_body)],
                                media_type=DOCKER_LIST)
    index = put(ecr, repo, index_body)["imageId"]["imageDigest"]
    subject = descriptor(OCI_MANIFEST, small_body)
    oci.push_blob(repo, b"{}")
    sbom_data = layer(unique(), 77)
    oci.push_blob(repo, sbom_data)
    sbom_body = image_manifest(descriptor(OCI_EMPTY, b"{}"), [descriptor("application/spdx+json", sbom_data)],
                               artifact_type=SBOM, subject=subject)
    sbom = put(ecr, repo, sbom_body)["imageId"]["imageDigest"]

    d = detail(ecr, repo, small)
    pushed = d.pop("imagePushedAt")
    assert abs((now() - pushed).total_seconds()) < 30
    assert d == {"registryId": ACCOUNT, "repositoryName": repo, "imageDigest": small, "imageTags": ["small"],
                 "imageSizeInBytes": 350, "imageManifestMediaType": OCI_MANIFEST,
                 "artifactMediaType": OCI_CONFIG, "imageStatus": "ACTIVE"}, "config not counted"
    d = detail(ecr, repo, big)
    assert sorted(d["imageTags"]) == ["big", "latest"]
    assert d["imageSizeInBytes"] == 1025
    assert (d["imageManifestMediaType"], d["artifactMediaType"]) == (DOCKER_MANIFEST, DOCKER_CONFIG)
    d = detail(ecr, repo, index)
    assert "imageTags" not in d
    assert d["imageSizeInBytes"] == 1025, "an index: its largest child"
    assert d["imageManifestMediaType"] == DOCKER_LIST
    d = detail(ecr, repo, sbom)
    assert (d["subjectManifestDigest"], d["artifactMediaType"]) == (small, SBOM)
    assert d["imageSizeInBytes"] == 77

    # named by tag or digest; the same image named twice is described once
    got = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "latest"}, {"imageDigest": small},
                                                              {"imageTag": "big"}])
    assert sorted(x["imageDigest"] for x in got["imageDetails"]) == sorted([small, big])
    assert "nextToken" not in got

    # filters
    everything = {small, big, index, sbom}
    assert set(details(ecr, repo)) == everything
    assert set(details(ecr, repo, filter={"tagStatus": "ANY"})) == everything
    assert set(details(ecr, repo, filter={"tagStatus": "TAGGED"})) == {small, big}
    assert set(details(ecr, repo, filter={"tagStatus": "UNTAGGED"})) == {index, sbom}

    missing = fake_digest()
    code, message = raises(lambda: ecr.describe_images(repositoryName=repo, imageIds=[
        {"imageTag": "small"}, {"imageDigest": missing}]))
    assert code == "ImageNotFoundException"
    assert message == (f"The image with imageId {{imageDigest:'{missing}', imageTag:'null'}} does not exist "
                       f"within the repository with name '{repo}' in the registry with id '{ACCOUNT}'")
    code, _ = raises(lambda: ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "gone"}]))
    assert code == "ImageNotFoundException"
    code, message = raises(lambda: ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "small"}],
                                                       maxResults=5))
    assert code == "InvalidParameterException" and "imageIds" in message
    assert raises(lambda: ecr.describe_images(repositoryName="images/none")) == not_found("images/none")


def test_image_size_counts_a_layer_that_is_also_the_config(ecr, oci, repo):
    oci.push_blob(repo, b"{}")
    empty = descriptor(OCI_EMPTY, b"{}")
    body = image_manifest(empty, [empty], artifact_type=SBOM)
    digest = put(ecr, repo, body)["imageId"]["imageDigest"]
    assert detail(ecr, repo, digest)["imageSizeInBytes"] == 2


def test_describe_images_with_a_tag_of_another_digest(ecr, oci, repo):
    oci.push_image(repo, "a")
    b, _ = oci.push_image(repo, "b")
    code, _ = raises(lambda: ecr.describe_images(repositoryName=repo,
                                                 imageIds=[{"imageDigest": b, "imageTag": "a"}]))
    assert code == "ImageNotFoundException"


# --------------------------------------------------------------------------- ListImages
def test_list_images_one_entry_per_tag(ecr, oci, repo):
    two = put(ecr, repo, new_manifest(oci, repo), "x")["imageId"]["imageDigest"]
    put(ecr, repo, oci.get_manifest(repo, "x").content, "y")
    one = put(ecr, repo, new_manifest(oci, repo), "z")["imageId"]["imageDigest"]
    bare = put(ecr, repo, new_manifest(oci, repo))["imageId"]["imageDigest"]
    tagged = [(two, "x"), (two, "y"), (one, "z")]
    assert sorted(image_ids(ecr, repo)) == sorted(tagged + [(bare, None)])
    assert sorted(image_ids(ecr, repo, filter={"tagStatus": "ANY"})) == sorted(tagged + [(bare, None)])
    assert sorted(image_ids(ecr, repo, filter={"tagStatus": "TAGGED"})) == sorted(tagged)
    assert image_ids(ecr, repo, filter={"tagStatus": "UNTAGGED"}) == [(bare, None)]
    page = ecr.list_images(repositoryName=repo, maxResults=2)
    assert len(page["imageIds"]) == 2 and page["nextToken"]
    rest = ecr.list_images(repositoryName=repo, maxResults=2, nextToken=page["nextToken"])
    assert len(rest["imageIds"]) == 2 and "nextToken" not in rest
    assert raises(lambda: ecr.list_images(repositoryName="images/none")) == not_found("images/none")


def test_paging_over_1050_images(srv, admin, ecr, oci):
    """1,050 images (525 tagged, 105 of them twice) in one repository: the paginators of
    DescribeImages and ListImages give each exactly once."""
    name = f"images/paging-{unique()}"
    ecr.create_repository(repositoryName=name)
    cfg, layers = push_blobs(oci, name, unique())
    local = threading.local()

    def client():
        if not hasattr(local, "ecr"):
            local.ecr = h.ecr(srv, admin)
        return local.ecr

    def push(i: int):
        body = image_manifest(cfg, layers, annotations={"n": str(i)})
        c = client()
        tags = [f"v{i}"] if i % 2 == 0 else []
        tags += [f"w{i}"] if i % 10 == 0 else []
        c.put_image(repositoryName=name, imageManifest=body.decode(), **({"imageTag": tags[0]} if tags else {}))
        for t in tags[1:]:
            c.put_image(repositoryName=name, imageManifest=body.decode(), imageTag=t)
        return sha256(body), tags

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pushed = dict(pool.map(push, range(1050)))
    assert len(pushed) == 1050

    seen, pages = [], 0
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=name):
        assert len(page["imageDetails"]) <= 100, "maxResults defaults to 100"
        seen += page["imageDetails"]
        pages += 1
    assert pages == 11
    assert sorted(d["imageDigest"] for d in seen) == sorted(pushed), "each image exactly once"
    assert all(sorted(d.get("imageTags", [])) == sorted(pushed[d["imageDigest"]]) for d in seen)
    assert all(d["imageSizeInBytes"] == 64 for d in seen)

    tagged = [d for d in pushed if pushed[d]]
    by_tag = []
    for page in ecr.get_paginator("describe_images").paginate(
            repositoryName=name, filter={"tagStatus": "TAGGED"}, PaginationConfig={"PageSize": 1000}):
        by_tag += [d["imageDigest"] for d in page["imageDetails"]]
    assert sorted(by_tag) == sorted(tagged)

    expected = sorted((d, t) for d, tags in pushed.items() for t in tags) + \
        sorted((d, None) for d, tags in pushed.items() if not tags)
    assert len(expected) == 525 + 105 + 525
    listed, pages = [], 0
    for page in ecr.get_paginator("list_images").paginate(repositoryName=name,
                                                          PaginationConfig={"PageSize": 250}):
        assert len(page["imageIds"]) <= 250
        listed += [(i["imageDigest"], i.get("imageTag")) for i in page["imageIds"]]
        pages += 1
    assert pages == 5
    assert len(listed) == len(expected) and set(listed) == set(expected), "each (digest, tag) exactly once"
    untagged = image_ids(ecr, name, filter={"tagStatus": "UNTAGGED"}, PaginationConfig={"PageSize": 1000})
    assert sorted(untagged) == sorted((d, None) for d, tags in pushed.items() if not tags)
    default = ecr.list_images(repositoryName=name)
    assert len(default["imageIds"]) == 100 and default["nextToken"], "maxResults defaults to 100"


# --------------------------------------------------------------------------- ListImageReferrers
def test_list_image_referrers(ecr, oci, repo):
    subject_digest, subject_body = oci.push_image(repo, "app")
    subject = descriptor(OCI_MANIFEST, subject_body)
    oci.push_blob(repo, b"{}")
    empty = descriptor(OCI_EMPTY, b"{}")
    sbom_body = image_manifest(empty, [empty], artifact_type=SBOM, subject=subject,
                               annotations={"org.example.kind": "sbom"})
    sbom = put(ecr, repo, sbom_body)["imageId"]["imageDigest"]
    sig_body = image_manifest(empty, [empty], artifact_type=SIGNATURE, subject=subject)
    sig = oci.push_manifest(repo, sha256(sig_body), sig_body)
    # no artifactType: the config's media type is the artifact type
    cfg_body = new_manifest(oci, repo, subject=subject)
    cfg_ref = oci.push_manifest(repo, sha256(cfg_body), cfg_body)

    out = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest})
    assert "nextToken" not in out
    by_digest = {r["digest"]: r for r in out["referrers"]}
    assert set(by_digest) == {sbom, sig, cfg_ref}
    assert by_digest[sbom] == {"digest": sbom, "mediaType": OCI_MANIFEST, "artifactType": SBOM,
                               "size": len(sbom_body), "annotations": {"org.example.kind": "sbom"},
                               "artifactStatus": "ACTIVE"}
    assert (by_digest[sig]["artifactType"], by_digest[sig]["size"]) == (SIGNATURE, len(sig_body))
    assert "annotations" not in by_digest[sig]
    assert by_digest[cfg_ref]["artifactType"] == OCI_CONFIG

    only = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest},
                                    filter={"artifactTypes": [SBOM]})
    assert [r["digest"] for r in only["referrers"]] == [sbom]
    two = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest},
                                   filter={"artifactTypes": [SBOM, SIGNATURE, "application/x-none"]})
    assert {r["digest"] for r in two["referrers"]} == {sbom, sig}

    # one at a time: each once
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest},
                                        maxResults=1, **kw)
        assert len(page["referrers"]) <= 1
        seen += [r["digest"] for r in page["referrers"]]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == sorted({sbom, sig, cfg_ref})

    # maxResults defaults to 20
    more = set()
    for i in range(19):
        body = image_manifest(empty, [empty], artifact_type=SIGNATURE, subject=subject,
                              annotations={"n": str(i)})
        more.add(put(ecr, repo, body)["imageId"]["imageDigest"])
    first = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest})
    assert len(first["referrers"]) == 20 and first["nextToken"]
    second = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject_digest},
                                      nextToken=first["nextToken"], maxResults=50)
    assert "nextToken" not in second
    assert sorted(r["digest"] for r in first["referrers"] + second["referrers"]) == sorted(
        more | {sbom, sig, cfg_ref})

    none = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": fake_digest()})
    assert none["referrers"] == []
    assert raises(lambda: ecr.list_image_referrers(repositoryName="images/none",
                                                   subjectId={"imageDigest": subject_digest})) \
        == not_found("images/none")


# --------------------------------------------------------------------------- validation
VALID = "images/validation"
D = "sha256:" + "a" * 64


def _schema1() -> str:
    return json.dumps({"schemaVersion": 1, "name": VALID, "tag": "v1", "architecture": "amd64",
                       "fsLayers": [{"blobSum": D}], "history": [{"v1Compatibility": "{}"}]})


def _manifest_text(**changes) -> str:
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "digest": D, "size": 2},
         "layers": [{"mediaType": OCI_LAYER, "digest": D, "size": 2}]}
    m.update(changes)
    return json.dumps({k: v for k, v in m.items() if v is not None})


def _ids(n: int) -> list[dict]:
    return [{"imageTag": f"t{i}"} for i in range(n)]


BAD_INPUT = [
    # PutImage
    ("PutImage", {"repositoryName": "Bad/Name", "imageManifest": _manifest_text()},
     "InvalidParameterException", "repositoryName"),
    ("PutImage", {"repositoryName": VALID, "registryId": "12", "imageManifest": _manifest_text()},
     "InvalidParameterException", "registryId"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(), "imageTag": "bad tag"},
     "InvalidParameterException", "imageTag"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(), "imageTag": "-dash"},
     "InvalidParameterException", "imageTag"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(), "imageTag": ""},
     "InvalidParameterException", "imageTag"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(), "imageDigest": "sha256:nothex"},
     "InvalidParameterException", "imageDigest"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": "{not json"}, "InvalidParameterException",
     "imageManifest"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": ""}, "InvalidParameterException", "imageManifest"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _schema1()}, "InvalidParameterException", "schema 1"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(mediaType=None),
                  "imageManifestMediaType": DOCKER_SCHEMA1}, "InvalidParameterException", "schema 1"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(schemaVersion=3)},
     "InvalidParameterException", "schemaVersion"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(mediaType=None)},
     "InvalidParameterException", "media type"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(mediaType="text/plain")},
     "InvalidParameterException", "text/plain"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(),
                  "imageManifestMediaType": DOCKER_MANIFEST}, "InvalidParameterException", DOCKER_MANIFEST),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(config=None)},
     "InvalidParameterException", "config"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(
        layers=[{"mediaType": OCI_LAYER, "digest": "md5:zz", "size": 2}])}, "InvalidParameterException", "md5:zz"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": _manifest_text(annotations={"pad": "x" * (4 * MiB)})},
     "InvalidParameterException", "4194304"),
    ("PutImage", {"repositoryName": VALID, "imageManifest": 5}, "SerializationException", ""),
    # BatchGetImage
    ("BatchGetImage", {"repositoryName": "a", "imageIds": _ids(1)}, "InvalidParameterException", "repositoryName"),
    ("BatchGetImage", {"repositoryName": VALID, "imageIds": []}, "InvalidParameterException", "imageIds"),
    ("BatchGetImage", {"repositoryName": VALID, "imageIds": _ids(101)}, "InvalidParameterException", "imageIds"),
    ("BatchGetImage", {"repositoryName": VALID, "imageIds": _ids(1), "registryId": "abcdefghijkl"},
     "InvalidParameterException", "registryId"),
    ("BatchGetImage", {"repositoryName": VALID, "imageIds": _ids(1), "acceptedMediaTypes": []},
     "InvalidParameterException", "acceptedMediaTypes"),
    ("BatchGetImage", {"repositoryName": VALID, "imageIds": _ids(1), "acceptedMediaTypes": [OCI_MANIFEST] * 101},
     "InvalidParameterException", "acceptedMediaTypes"),
    # BatchDeleteImage
    ("BatchDeleteImage", {"repositoryName": "UPPER", "imageIds": _ids(1)}, "InvalidParameterException",
     "repositoryName"),
    ("BatchDeleteImage", {"repositoryName": VALID, "imageIds": []}, "InvalidParameterException", "imageIds"),
    ("BatchDeleteImage", {"repositoryName": VALID, "imageIds": _ids(101)}, "InvalidParameterException",
     "imageIds"),
    # DescribeImages
    ("DescribeImages", {"repositoryName": "x//y"}, "InvalidParameterException", "repositoryName"),
    ("DescribeImages", {"repositoryName": VALID, "maxResults": 0}, "InvalidParameterException", "maxResults"),
    ("DescribeImages", {"repositoryName": VALID, "maxResults": 1001}, "InvalidParameterException", "maxResults"),
    ("DescribeImages", {"repositoryName": VALID, "nextToken": "garbage"}, "InvalidParameterException",
     "nextToken"),
    ("DescribeImages", {"repositoryName": VALID, "filter": {"tagStatus": "SOME"}}, "InvalidParameterException",
     "tagStatus"),
    ("DescribeImages", {"repositoryName": VALID, "imageIds": _ids(1), "maxResults": 10},
     "InvalidParameterException", "imageIds"),
    ("DescribeImages", {"repositoryName": VALID, "imageIds": _ids(1), "nextToken": "x"},
     "InvalidParameterException", "imageIds"),
    ("DescribeImages", {"repositoryName": VALID, "imageIds": []}, "InvalidParameterException", "imageIds"),
    ("DescribeImages", {"repositoryName": VALID, "imageIds": _ids(101)}, "InvalidParameterException", "imageIds"),
    ("DescribeImages", {"repositoryName": VALID, "imageIds": [{"imageDigest": "sha256:1"}]},
     "InvalidParameterException", "digest"),
    # ListImages
    ("ListImages", {"repositoryName": "-x"}, "InvalidParameterException", "repositoryName"),
    ("ListImages", {"repositoryName": VALID, "maxResults": 0}, "InvalidParameterException", "maxResults"),
    ("ListImages", {"repositoryName": VALID, "maxResults": 1001}, "InvalidParameterException", "maxResults"),
    ("ListImages", {"repositoryName": VALID, "nextToken": "garbage"}, "InvalidParameterException", "nextToken"),
    ("ListImages", {"repositoryName": VALID, "filter": {"tagStatus": "tagged"}}, "InvalidParameterException",
     "tagStatus"),
    # ListImageReferrers
    ("ListImageReferrers", {"repositoryName": VALID, "subjectId": {"imageDigest": "nope"}},
     "InvalidParameterException", "subjectId"),
    ("ListImageReferrers", {"repositoryName": VALID, "subjectId": {"imageDigest": D}, "maxResults": 0},
     "InvalidParameterException", "maxResults"),
    ("ListImageReferrers", {"repositoryName": VALID, "subjectId": {"imageDigest": D}, "maxResults": 51},
     "InvalidParameterException", "maxResults"),
    ("ListImageReferrers", {"repositoryName": VALID, "subjectId": {"imageDigest": D},
                            "filter": {"artifactTypes": [f"a/t{i}" for i in range(6)]}},
     "InvalidParameterException", "artifactTypes"),
    ("ListImageReferrers", {"repositoryName": VALID, "subjectId": {"imageDigest": D}, "nextToken": "garbage"},
     "InvalidParameterException", "nextToken"),
]


@pytest.fixture(scope="module")
def validation_repo(ecr):
    ecr.create_repository(repositoryName=VALID)
    return VALID


@pytest.mark.parametrize("op,body,code,fragment", BAD_INPUT,
                         ids=[f"{(b.values if hasattr(b, 'values') else b)[0]}-{i}"
                              for i, b in enumerate(BAD_INPUT)])
def test_bad_input_is_refused(srv, admin, ecr, validation_repo, op, body, code, fragment):
    status, kind, message = h.api_error(h.ecr_call(srv, op, body, key=admin))
    assert (status, kind) == (400, code), message
    assert fragment in message
    assert ecr.list_images(repositoryName=validation_repo)["imageIds"] == [], "nothing stored"


@pytest.mark.parametrize("op,body", [
    ("PutImage", {"imageManifest": _manifest_text()}),
    ("BatchGetImage", {"imageIds": _ids(1)}),
    ("BatchDeleteImage", {"imageIds": _ids(1)}),
    ("DescribeImages", {}),
    ("ListImages", {}),
    ("ListImageReferrers", {"subjectId": {"imageDigest": D}}),
])
def test_missing_repository(srv, admin, op, body):
    status, kind, message = h.api_error(h.ecr_call(srv, op, {"repositoryName": "images/absent", **body},
                                                   key=admin))
    assert (status, kind, message) == (400, *not_found("images/absent"))


def test_manifest_size_limit_is_4_mib(ecr, oci, repo):
    cfg, layers = push_blobs(oci, repo, unique())

    def sized(n: int) -> str:
        text = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": layers,
                           "annotations": {"pad": ""}})
        return text.replace('"pad": ""', '"pad": "' + "p" * (n - len(text)) + '"')

    at_limit = sized(4 * MiB)
    assert len(at_limit.encode()) == 4 * MiB
    image = ecr.put_image(repositoryName=repo, imageManifest=at_limit, imageTag="max")["image"]
    assert oci.get_manifest(repo, "max").content == at_limit.encode()
    assert image["imageId"]["imageDigest"] == sha256(at_limit.encode())
    code, message = raises(lambda: ecr.put_image(repositoryName=repo, imageManifest=sized(4 * MiB + 1)))
    assert code == "InvalidParameterException" and "4194304" in message, message


# --------------------------------------------------------------------------- authorisation
ACTIONS = {"PutImage": "ecr:PutImage", "BatchGetImage": "ecr:BatchGetImage",
           "BatchDeleteImage": "ecr:BatchDeleteImage", "DescribeImages": "ecr:DescribeImages",
           "ListImages": "ecr:ListImages", "ListImageReferrers": "ecr:BatchGetImage"}


def test_each_operation_needs_its_action(srv, ecr, oci):
    name = f"images/authz-{unique()}"
    ecr.create_repository(repositoryName=name)
    subject, _ = oci.push_image(name, "v1")
    users = {action: h.new_user(srv, f"images-{action.split(':')[1].lower()}",
                                h.policy(h.allow(action, h.repo_arn(name))))
             for action in sorted(set(ACTIONS.values()))}

    def call(op: str, key: h.Key, repo: str = name):
        body = {"PutImage": {"imageManifest": new_manifest(oci, name).decode()},
                "BatchGetImage": {"imageIds": [{"imageTag": "v1"}]},
                "BatchDeleteImage": {"imageIds": [{"imageTag": "no-such-tag"}]},
                "DescribeImages": {}, "ListImages": {},
                "ListImageReferrers": {"subjectId": {"imageDigest": subject}}}[op]
        return h.api_error(h.ecr_call(srv, op, {"repositoryName": repo, **body}, key=key))

    for op, needed in ACTIONS.items():
        for action, key in users.items():
            status, kind, message = call(op, key)
            if action == needed:
                assert (status, kind) == (200, None), f"{op} as a user allowed {action}: {kind} {message}"
            else:
                assert (status, kind) == (400, "AccessDeniedException"), f"{op} as a user allowed {action}"
                assert needed in message, message
        # the policy names one repository: another, even a missing one, is denied, not "not found"
        status, kind, _ = call(op, users[needed], "images/elsewhere")
        assert (status, kind) == (400, "AccessDeniedException"), op
    assert [t for _, t in image_ids(ecr, name, filter={"tagStatus": "TAGGED"})] == ["v1"], \
        "the denied calls changed nothing"
