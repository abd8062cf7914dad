"""Lifecycle execution: `wharf lifecycle run` and the background runs on an interval, what an
expiry takes with it (referrers, index children nothing else keeps), transitions to the
archive storage class, `UpdateImageStorageClass` (archive, restore ACTIVATING -> ACTIVE),
archived images not pullable, and the events every action leaves."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import OCI_INDEX, OCI_MANIFEST, Client, descriptor, dumps, index_manifest, sha256


def policy(*rules: dict) -> str:
    text = json.dumps({"rules": list(rules)})
    return text + " " * max(0, 100 - len(text))  # ECR's minimum length


def rule(priority: int, selection: dict, action: str = "expire") -> dict:
    act = {"type": action}
    if action == "transition":
        act["targetStorageClass"] = "archive"
    return {"rulePriority": priority, "selection": selection, "action": act}


KEEP_TWO_PROD = policy(rule(1, {"tagStatus": "tagged", "tagPrefixList": ["prod"],
                                "countType": "imageCountMoreThan", "countNumber": 2}))


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    # The background pass every second finishes restores; policies are due once a day, so
    # only `wharf lifecycle run` applies them in these tests unless a test says otherwise.
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0", "--lifecycle-interval-secs", "86400"])


@pytest.fixture(scope="module")
def ecr(srv):
    return h.ecr(srv, h.admin_key(srv))


def run(srv, *names: str) -> list[dict]:
    return json.loads(srv.cli("lifecycle", "run", *names, "--json").stdout)


def events(srv, repository: str) -> list[dict]:
    out = srv.cli("events", "--repository", repository, "--json").stdout
    return [json.loads(line) for line in out.splitlines()]


def digests(ecr, name: str, **filter_) -> set[str]:
    out = ecr.describe_images(repositoryName=name, **({"filter": filter_} if filter_ else {}))
    return {d["imageDigest"] for d in out["imageDetails"]}


def push_signature(c: Client, name: str, subject_digest: str, subject_body: bytes) -> str:
    """An OCI artifact whose subject is the given image (as cosign/notation attach one)."""
    c.push_blob(name, b"{}")
    sig = b"signature of " + subject_digest.encode()
    c.push_blob(name, sig)
    body = dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.dev.cosign.simple+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
        "layers": [descriptor("application/octet-stream", sig)],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject_body)},
    })
    return c.push_manifest(name, sha256(body), body)


def test_run_expires_beyond_the_count_with_referrers_and_records_events(srv, ecr):
    name = "lcrun/app"
    srv.create_repo(name)
    c = Client(srv)
    prod = [c.push_image(name, f"prod-{i}") for i in range(5)]
    c.push_image(name, "dev-1")
    sig = push_signature(c, name, prod[0][0], prod[0][1])
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=KEEP_TWO_PROD)
    before = time.time()

    actions = run(srv, name)
    expired = {a["imageDigest"]: a for a in actions}
    assert set(expired) == {d for d, _ in prod[:3]} | {sig}
    assert all(a["actionType"] == "EXPIRE" and a["rulePriority"] == 1 for a in actions)
    assert expired[sig]["cause"] == "subject" and expired[prod[0][0]]["cause"] == "rule"
    assert expired[prod[0][0]]["imageTags"] == ["prod-0"]

    left = digests(ecr, name)
    assert left == {d for d, _ in prod[3:]} | {ecr.describe_images(repositoryName=name, imageIds=[
        {"imageTag": "dev-1"}])["imageDetails"][0]["imageDigest"]}
    for i in range(3):
        assert c.get_manifest(name, f"prod-{i}").status_code == 404
    assert c.get_manifest(name, sig).status_code == 404, "the signature went with its subject"
    assert c.get_manifest(name, "prod-4").status_code == 200
    got = ecr.get_lifecycle_policy(repositoryName=name)
    assert got["lastEvaluatedAt"].timestamp() >= before - 1

    recorded = events(srv, name)
    assert len(recorded) == 4
    assert {e["detail"]["imageDigest"] for e in recorded} == set(expired)
    assert all(e["detail-type"] == "ECR Lifecycle Action" and e["repository-name"] == name for e in recorded)
    assert all(e["detail"]["rulePriority"] == 1 and e["time"] >= (before - 1) * 1000 for e in recorded)

    assert run(srv, name) == [], "a second run finds nothing more to do"


def test_an_expired_index_takes_the_children_nothing_else_keeps(srv, ecr):
    name = "lcrun/multiarch"
    srv.create_repo(name)
    c = Client(srv)
    a, b, d = (c.push_image(name) for _ in range(3))
    tagged_child = c.push_image(name, "keep-me")

    def index(*children) -> bytes:
        return index_manifest([descriptor(OCI_MANIFEST, body, platform={"os": "linux", "architecture": arch})
                               for (_, body), arch in zip(children, ["amd64", "arm64", "s390x"])])

    old = c.push_manifest(name, "release-1", index(a, b, tagged_child), OCI_INDEX)
    new = c.push_manifest(name, "release-2", index(b, d), OCI_INDEX)
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "tagged", "tagPrefixList": ["release"], "countType": "imageCountMoreThan",
                 "countNumber": 1})))
    actions = run(srv, name)
    assert {(x["imageDigest"], x["cause"]) for x in actions} == {(old, "rule"), (a[0], "index")}
    left = digests(ecr, name)
    assert old not in left and a[0] not in left
    assert {new, b[0], d[0], tagged_child[0]} <= left, "listed by another index, or tagged: kept"
    assert c.get_manifest(name, "release-2").status_code == 200


def test_a_transition_archives_and_archived_images_do_not_pull(srv, ecr):
    name = "lcrun/archive"
    srv.create_repo(name)
    c = Client(srv)
    old, _ = c.push_image(name)
    c.push_image(name)
    newest, _ = c.push_image(name)
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}, "transition")))
    actions = run(srv, name)
    archived = {x["imageDigest"] for x in actions}
    assert len(archived) == 2 and newest not in archived and old in archived
    assert all(x["actionType"] == "TRANSITION" for x in actions)

    assert digests(ecr, name) == {newest}, "DescribeImages lists ACTIVE images by default"
    assert digests(ecr, name, imageStatus="ARCHIVED") == archived
    assert digests(ecr, name, imageStatus="ANY") == archived | {newest}
    detail = ecr.describe_images(repositoryName=name, imageIds=[{"imageDigest": old}])["imageDetails"][0]
    assert detail["imageStatus"] == "ARCHIVED" and "lastArchivedAt" in detail
    assert c.get_manifest(name, old).status_code == 404
    assert c.get_manifest(name, old, method="HEAD").status_code == 404
    got = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageDigest": old}])
    assert got["images"] == [] and got["failures"][0]["failureCode"] == "ImageNotFound"
    assert run(srv, name) == [], "archived images are not selected by standard-class rules again"


def wait_status(ecr, name: str, digest: str, status: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        detail = ecr.describe_images(repositoryName=name, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
        if detail["imageStatus"] == status or time.monotonic() > deadline:
            return detail
        time.sleep(0.2)


def test_update_image_storage_class_archives_and_restores(srv, ecr):
    name = "lcrun/restore"
    srv.create_repo(name)
    c = Client(srv)
    digest, _ = c.push_image(name, "v1")
    out = ecr.update_image_storage_class(repositoryName=name, imageId={"imageTag": "v1"},
                                         targetStorageClass="ARCHIVE")
    assert out["imageStatus"] == "ARCHIVED" and out["imageId"]["imageDigest"] == digest
    assert c.get_manifest(name, "v1").status_code == 404, "archived: not pullable"
    assert [i["imageTag"] for i in ecr.list_images(repositoryName=name,
                                                   filter={"imageStatus": "ARCHIVED"})["imageIds"]] == ["v1"]
    assert ecr.list_images(repositoryName=name)["imageIds"] == []

    out = ecr.update_image_storage_class(repositoryName=name, imageId={"imageDigest": digest},
                                         targetStorageClass="STANDARD")
    assert out["imageStatus"] == "ACTIVATING"
    detail = wait_status(ecr, name, digest, "ACTIVE")
    assert detail["imageStatus"] == "ACTIVE" and "lastActivatedAt" in detail
    assert c.get_manifest(name, "v1").status_code == 200, "restored: pullable again"


def test_pushing_an_archived_image_again_restores_it(srv, ecr):
    name = "lcrun/repush"
    srv.create_repo(name)
    c = Client(srv)
    digest, body = c.push_image(name, "v1")
    ecr.update_image_storage_class(repositoryName=name, imageId={"imageDigest": digest}, targetStorageClass="ARCHIVE")
    c.push_manifest(name, "v1", body)
    assert c.get_manifest(name, "v1").status_code == 200
    assert wait_status(ecr, name, digest, "ACTIVE", timeout=0)["imageStatus"] == "ACTIVE"


def test_update_image_storage_class_errors(srv, ecr):
    name = "lcrun/errors"
    srv.create_repo(name)
    c = Client(srv)
    child = c.push_image(name)
    c.push_manifest(name, "idx", index_manifest([descriptor(OCI_MANIFEST, child[1])]), OCI_INDEX)
    cases = [
        ({"imageTag": "nope"}, "ARCHIVE", "ImageNotFoundException"),
        ({"imageDigest": child[0]}, "ARCHIVE", "ImageStorageClassUpdateNotSupportedException"),
        ({"imageTag": "idx"}, "COLD", "InvalidParameterException"),
    ]
    for image_id, target, code in cases:
        with pytest.raises(ClientError) as e:
            ecr.update_image_storage_class(repositoryName=name, imageId=image_id, targetStorageClass=target)
        assert h.client_error(e)[1] == code, (image_id, target)
    with pytest.raises(ClientError) as e:
        ecr.update_image_storage_class(repositoryName="lcrun/none", imageId={"imageTag": "x"},
                                       targetStorageClass="ARCHIVE")
    assert h.client_error(e)[1] == "RepositoryNotFoundException"


def test_update_image_storage_class_needs_its_action(srv, ecr):
    name = "lcrun/denied"
    srv.create_repo(name)
    digest, _ = Client(srv).push_image(name, "v1")
    reader = h.new_user(srv, "lcrun-reader", h.policy(h.allow(["ecr:DescribeImages", "ecr:BatchGetImage"])))
    with pytest.raises(ClientError) as e:
        h.ecr(srv, reader).update_image_storage_class(repositoryName=name, imageId={"imageDigest": digest},
                                                      targetStorageClass="ARCHIVE")
    assert h.client_error(e)[1] == "AccessDeniedException"


def test_policies_run_in_the_background_on_their_interval(module_factory):  # noqa: F811
    srv = h.serve(module_factory, extra_args=["--lifecycle-interval-secs", "1"])
    ecr = h.ecr(srv, h.admin_key(srv))
    name = "lcrun/background"
    srv.create_repo(name)
    c = Client(srv)
    pushed = [c.push_image(name)[0] for _ in range(3)]
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=policy(
        rule(1, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})))
    deadline = time.monotonic() + 20
    while len(digests(ecr, name)) > 1 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert digests(ecr, name) == {pushed[-1]}
    assert len(events(srv, name)) == 2
