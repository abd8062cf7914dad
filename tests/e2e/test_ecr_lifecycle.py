"""Lifecycle policies: PutLifecyclePolicy / GetLifecyclePolicy / DeleteLifecyclePolicy through
boto3, ECR's validation, the policy a CREATE_ON_PUSH template copies into the repositories
it creates, and previews (StartLifecyclePolicyPreview / GetLifecyclePolicyPreview)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import Client

POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "description": "keep the last 10 prod images",
     "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan",
                   "countNumber": 10},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "expire untagged images after 14 days",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                   "countNumber": 14},
     "action": {"type": "expire"}},
]})


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0"])


@pytest.fixture(scope="module")
def ecr(srv):
    return h.ecr(srv, h.admin_key(srv))


def test_put_get_delete(srv, ecr):
    srv.create_repo("lc/app")
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName="lc/app")
    assert h.client_error(e)[1:] == ("LifecyclePolicyNotFoundException",
                                     "Lifecycle policy does not exist for the repository with name 'lc/app' in the "
                                     f"registry with id '{h.DEFAULT_ACCOUNT}'")
    out = ecr.put_lifecycle_policy(repositoryName="lc/app", lifecyclePolicyText=POLICY)
    assert (out["repositoryName"], out["lifecyclePolicyText"]) == ("lc/app", POLICY)
    got = ecr.get_lifecycle_policy(repositoryName="lc/app")
    assert got["lifecyclePolicyText"] == POLICY and got["registryId"] == h.DEFAULT_ACCOUNT
    assert "lastEvaluatedAt" not in got, "not evaluated yet"
    assert ecr.delete_lifecycle_policy(repositoryName="lc/app")["lifecyclePolicyText"] == POLICY
    with pytest.raises(ClientError) as e:
        ecr.delete_lifecycle_policy(repositoryName="lc/app")
    assert h.client_error(e)[1] == "LifecyclePolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.put_lifecycle_policy(repositoryName="lc/none", lifecyclePolicyText=POLICY)
    assert h.client_error(e)[1] == "RepositoryNotFoundException"


@pytest.fixture(scope="module")
def bad_repo(srv):
    srv.create_repo("lc/bad")
    return "lc/bad"


@pytest.mark.parametrize("text,fragment", [
    ("not json at all " * 10, "Could not map policyString into LifecyclePolicy."),
    ("{}", "length"),
    (json.dumps({"rules": [{"rulePriority": 0, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                             "countNumber": 1}, "action": {"type": "expire"}}]}),
     "Lifecycle policy validation failure"),
    (json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "sometimes", "countType": "imageCountMoreThan",
                                                             "countNumber": 1}, "action": {"type": "expire"}}]}),
     "Lifecycle policy validation failure"),
])
def test_invalid_policies(srv, ecr, bad_repo, text, fragment):
    # raw: boto3 would refuse the short texts itself
    r = h.ecr_call(srv, "PutLifecyclePolicy", {"repositoryName": bad_repo, "lifecyclePolicyText": text},
                   key=h.admin_key(srv))
    status, code, message = h.api_error(r)
    assert (status, code) == (400, "InvalidParameterException") and fragment in message, message
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName="lc/bad")
    assert h.client_error(e)[1] == "LifecyclePolicyNotFoundException", "nothing stored"


def test_template_copies_its_lifecycle_policy(srv, ecr):
    ecr.create_repository_creation_template(prefix="lct", appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy=POLICY)
    Client(srv).push_image("lct/app", "v1")
    assert ecr.get_lifecycle_policy(repositoryName="lct/app")["lifecyclePolicyText"] == POLICY
    t = ecr.describe_repository_creation_templates(prefixes=["lct"])["repositoryCreationTemplates"][0]
    assert t["lifecyclePolicy"] == POLICY
    ecr.delete_repository_creation_template(prefix="lct")


def test_lifecycle_operations_need_their_actions(srv, ecr):
    srv.create_repo("lc/authz")
    key = h.new_user(srv, "lc-reader", h.policy(h.allow("ecr:GetLifecyclePolicy")))
    limited = h.ecr(srv, key)
    with pytest.raises(ClientError) as e:
        limited.put_lifecycle_policy(repositoryName="lc/authz", lifecyclePolicyText=POLICY)
    assert h.client_error(e)[1] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        limited.get_lifecycle_policy(repositoryName="lc/authz")
    assert h.client_error(e)[1] == "LifecyclePolicyNotFoundException", "allowed to read: none set"



def _wait_for_preview(ecr, name: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        out = ecr.get_lifecycle_policy_preview(repositoryName=name)
        if out["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def test_preview_shows_what_the_policy_would_expire(srv, ecr):
    name = "lc/preview"
    srv.create_repo(name)
    c = Client(srv)
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy_preview(repositoryName=name)
    assert h.client_error(e)[1] == "LifecyclePolicyPreviewNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.start_lifecycle_policy_preview(repositoryName=name)
    assert h.client_error(e)[1] == "LifecyclePolicyNotFoundException", "no text and no policy"
    prod = [c.push_image(name, f"prod-{i}")[0] for i in range(5)]
    c.push_image(name, "dev-1")
    started = ecr.start_lifecycle_policy_preview(repositoryName=name, lifecyclePolicyText=POLICY)
    assert started["status"] == "IN_PROGRESS" and started["lifecyclePolicyText"] == POLICY
    out = _wait_for_preview(ecr, name)
    assert out["status"] == "COMPLETE", out
    # keep the 10 newest prod images: none of the 5 goes; nothing untagged is 14 days old
    assert out["previewResults"] == [] and out["summary"]["expiringImageTotalCount"] == 0
    keep_two = POLICY.replace('"countNumber": 10', '"countNumber": 2')
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=keep_two)
    ecr.start_lifecycle_policy_preview(repositoryName=name)  # the repository's own policy
    out = _wait_for_preview(ecr, name)
    expired = [r["imageDigest"] for r in out["previewResults"]]
    assert sorted(expired) == sorted(prod[:3]), "the three oldest prod images"
    assert all(r["action"] == {"type": "EXPIRE"} and r["appliedRulePriority"] == 1 for r in out["previewResults"])
    assert out["summary"]["expiringImageTotalCount"] == 3
    page = ecr.get_lifecycle_policy_preview(repositoryName=name, maxResults=2)
    assert len(page["previewResults"]) == 2 and "nextToken" in page
    rest = ecr.get_lifecycle_policy_preview(repositoryName=name, maxResults=2, nextToken=page["nextToken"])
    assert [r["imageDigest"] for r in page["previewResults"] + rest["previewResults"]] == expired
    assert ecr.list_images(repositoryName=name)["imageIds"], "a preview acts on nothing"
    assert len(ecr.list_images(repositoryName=name)["imageIds"]) == 6
