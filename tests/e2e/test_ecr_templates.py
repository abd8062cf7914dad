"""Repository creation templates and create-on-push: the CRUD operations through boto3, and
a push to a missing repository creating it from the most specific CREATE_ON_PUSH template
(ROOT last), with the template's mutability, tags and repository policy."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import Client, assert_error

ACCOUNT = h.DEFAULT_ACCOUNT


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0"])


@pytest.fixture(scope="module")
def ecr(srv):
    return h.ecr(srv, h.admin_key(srv))


def code(excinfo) -> str:
    return h.client_error(excinfo)[1]


def test_template_crud(ecr):
    made = ecr.create_repository_creation_template(
        prefix="crud", description="team crud", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "team", "Value": "crud"}])
    t = made["repositoryCreationTemplate"]
    assert made["registryId"] == ACCOUNT
    assert (t["prefix"], t["description"], t["imageTagMutability"], t["appliedFor"]) == \
        ("crud", "team crud", "IMMUTABLE", ["CREATE_ON_PUSH"])
    assert t["resourceTags"] == [{"Key": "team", "Value": "crud"}]
    assert t["encryptionConfiguration"] == {"encryptionType": "AES256"}
    with pytest.raises(ClientError) as e:
        ecr.create_repository_creation_template(prefix="crud", appliedFor=["CREATE_ON_PUSH"])
    assert code(e) == "TemplateAlreadyExistsException"
    up = ecr.update_repository_creation_template(prefix="crud", appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
                                                 imageTagMutability="MUTABLE")["repositoryCreationTemplate"]
    assert up["imageTagMutability"] == "MUTABLE" and up["createdAt"] == t["createdAt"]
    listed = ecr.describe_repository_creation_templates(prefixes=["crud"])["repositoryCreationTemplates"]
    assert [x["prefix"] for x in listed] == ["crud"]
    assert ecr.delete_repository_creation_template(prefix="crud")["repositoryCreationTemplate"]["prefix"] == "crud"
    for call in (lambda: ecr.delete_repository_creation_template(prefix="crud"),
                 lambda: ecr.update_repository_creation_template(prefix="crud", appliedFor=["CREATE_ON_PUSH"]),
                 lambda: ecr.describe_repository_creation_templates(prefixes=["crud"])):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "TemplateNotFoundException"


@pytest.mark.parametrize("body,fragment", [
    ({"prefix": "Bad Prefix", "appliedFor": ["CREATE_ON_PUSH"]}, "prefix"),
    ({"prefix": "ok", "appliedFor": []}, "appliedFor"),
    ({"prefix": "ok", "appliedFor": ["SOMETIMES"]}, "appliedFor"),
    ({"prefix": "ok", "appliedFor": ["CREATE_ON_PUSH"], "lifecyclePolicy": "{}"}, "lifecycle policy"),
    ({"prefix": "ok", "appliedFor": ["CREATE_ON_PUSH"], "repositoryPolicy": "{not json"}, "policy"),
    ({"prefix": "ok", "appliedFor": ["CREATE_ON_PUSH"], "description": "x" * 257}, "description"),
    ({"prefix": "ok", "appliedFor": ["CREATE_ON_PUSH"], "encryptionConfiguration": {"encryptionType": "KMS"}},
     "encryptionType"),
])
def test_invalid_templates(srv, ecr, body, fragment):
    status, kind, message = h.api_error(h.ecr_call(srv, "CreateRepositoryCreationTemplate", body,
                                                   key=h.admin_key(srv)))
    assert (status, kind) == (400, "ValidationException"), message
    assert fragment in message
    prefixes = [t["prefix"] for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]]
    assert "ok" not in prefixes, "nothing stored"


def test_push_creates_from_the_most_specific_template(srv, ecr):
    c = Client(srv)
    assert_error(c.start_upload("nowhere/app"), 404, "NAME_UNKNOWN")
    policy = h.policy(h.grant("111111111111", ["ecr:BatchGetImage"]))
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    ecr.create_repository_creation_template(prefix="team", appliedFor=["CREATE_ON_PUSH"],
                                            imageTagMutability="IMMUTABLE", repositoryPolicy=policy,
                                            resourceTags=[{"Key": "owner", "Value": "team"}])
    ecr.create_repository_creation_template(prefix="team/replicas", appliedFor=["REPLICATION"])
    c.push_image("team/replicas/app", "v1")  # the REPLICATION template does not apply to pushes
    c.push_image("team/app", "v1")
    c.push_image("other/app", "v1")
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert repos["team/app"]["imageTagMutability"] == "IMMUTABLE"
    assert repos["team/replicas/app"]["imageTagMutability"] == "IMMUTABLE", "most specific CREATE_ON_PUSH: team"
    assert repos["other/app"]["imageTagMutability"] == "MUTABLE", "ROOT"
    arn = repos["team/app"]["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "owner", "Value": "team"}]
    assert ecr.get_repository_policy(repositoryName="team/app")["policyText"] == policy
    assert_error(Client(srv).put_manifest("team/app", "v1", c.get_manifest("team/app", "v1").content), 400,
                 "TAG_INVALID")
    with pytest.raises(ClientError) as e:
        ecr.get_repository_policy(repositoryName="other/app")
    assert code(e) == "RepositoryPolicyNotFoundException"
    for prefix in ("ROOT", "team", "team/replicas"):
        ecr.delete_repository_creation_template(prefix=prefix)


def test_create_on_push_needs_create_repository(srv, ecr):
    ecr.create_repository_creation_template(prefix="perm", appliedFor=["CREATE_ON_PUSH"])
    push = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"]
    pusher = h.new_user(srv, "pusher-only", h.policy(h.allow(push)))
    v2 = h.V2(srv, h.token(srv, pusher))
    r = v2.req("POST", "/v2/perm/app/blobs/uploads/")
    assert r.status_code == 403 and "ecr:CreateRepository" in r.text, r.text
    h.put_policy(srv, h.policy(h.allow(push + ["ecr:CreateRepository"])), user="pusher-only")
    assert v2.req("POST", "/v2/perm/app/blobs/uploads/").status_code == 202
    assert ecr.describe_repositories(repositoryNames=["perm/app"])["repositories"]
    ecr.delete_repository_creation_template(prefix="perm")

