"""The ECR API for repositories, through boto3 against a real server: CreateRepository,
DescribeRepositories (paging), DeleteRepository, PutImageTagMutability with its exclusion
filters (enforced on /v2 pushes), and resource tags. Invalid input goes in raw (signed by
botocore, past boto3's own checks) to reach the server's validation.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import Client, assert_error, config_blob, descriptor, image_manifest

ACCOUNT = h.DEFAULT_ACCOUNT


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0"])


@pytest.fixture(scope="module")
def admin(srv):
    return h.admin_key(srv)


@pytest.fixture(scope="module")
def ecr(srv, admin):
    return h.ecr(srv, admin)


def error(excinfo) -> tuple[str, str]:
    _, code, message = h.client_error(excinfo)
    return code, message


def raw_error(srv, admin, op: str, body: dict) -> tuple[int, str, str]:
    return h.api_error(h.ecr_call(srv, op, body, key=admin))


def test_create_returns_the_whole_repository(srv, ecr):
    repo = ecr.create_repository(repositoryName="repos/full", imageScanningConfiguration={"scanOnPush": True},
                                 tags=[{"Key": "team", "Value": "core"}])["repository"]
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/repos/full"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryName"] == "repos/full"
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.us-east-1.localhost:{srv.port}/repos/full"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert "imageTagMutabilityExclusionFilters" not in repo, "absent fields are omitted"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert repo["createdAt"].timestamp() > 1.7e9
    described = ecr.describe_repositories(repositoryNames=["repos/full"])["repositories"]
    assert [r["repositoryArn"] for r in described] == [repo["repositoryArn"]]
    arn = repo["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "core"}]
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="repos/full")
    assert error(e) == ("RepositoryAlreadyExistsException",
                        f"The repository with name 'repos/full' already exists in the registry with id '{ACCOUNT}'")


@pytest.mark.parametrize("body,code,fragment", [
    ({"repositoryName": "Upper/Case"}, "InvalidParameterException", "repositoryName"),
    ({"repositoryName": "a"}, "InvalidParameterException", "repositoryName"),
    ({"repositoryName": "repos/x", "registryId": "12"}, "InvalidParameterException", "registryId"),
    ({"repositoryName": "repos/x", "imageTagMutability": "FROZEN"}, "InvalidParameterException",
     "imageTagMutability"),
    ({"repositoryName": "repos/x", "imageTagMutability": "MUTABLE",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev-*"}]},
     "InvalidParameterException", "ExclusionFilters"),
    ({"repositoryName": "repos/x", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"},
     "InvalidParameterException", "ExclusionFilters"),
    ({"repositoryName": "repos/x", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f"f{i}"} for i in range(6)]},
     "InvalidParameterException", "1 and 5"),
    ({"repositoryName": "repos/x", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "bad/filter"}]},
     "InvalidParameterException", "filter"),
    ({"repositoryName": "repos/x", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filterType": "REGEX", "filter": "a"}]},
     "InvalidParameterException", "filterType"),
    ({"repositoryName": "repos/x", "encryptionConfiguration": {"encryptionType": "KMS"}},
     "InvalidParameterException", "not supported"),
    ({"repositoryName": "repos/x", "tags": [{"Key": "aws:reserved", "Value": "v"}]},
     "InvalidTagParameterException", "aws:"),
    ({"repositoryName": "repos/x", "tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
     "TooManyTagsException", "50"),
    ({"repositoryName": 5}, "SerializationException", ""),
])
def test_create_refuses_bad_input(srv, admin, ecr, body, code, fragment):
    status, kind, message = raw_error(srv, admin, "CreateRepository", body)
    assert (status, kind) == (400, code), message
    assert fragment in message
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=["repos/x"])
    assert error(e)[0] == "RepositoryNotFoundException", "nothing half-created"


def test_describe_pages_over_every_repository_once(module_factory):  # noqa: F811
    own = h.serve(module_factory)
    ecr = h.ecr(own, h.admin_key(own))
    names = {f"page/r{i:04d}" for i in range(1050)}
    for name in names:
        ecr.create_repository(repositoryName=name)
    seen = []
    for page in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 200}):
        assert len(page["repositories"]) <= 200
        seen += [r["repositoryName"] for r in page["repositories"]]
    assert len(seen) == len(names) and set(seen) == names
    default = ecr.describe_repositories()
    assert len(default["repositories"]) == 100 and "nextToken" in default, "maxResults defaults to 100"
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=["page/r0001"], maxResults=5)
    assert error(e)[0] == "InvalidParameterException", "paging does not mix with a name list"
    status, kind, _ = raw_error(own, h.admin_key(own), "DescribeRepositories", {"maxResults": 1001})
    assert (status, kind) == (400, "InvalidParameterException")
    status, kind, _ = raw_error(own, h.admin_key(own), "DescribeRepositories", {"nextToken": "garbage"})
    assert (status, kind) == (400, "InvalidParameterException")
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=["page/r0001", "page/none"])
    assert error(e) == ("RepositoryNotFoundException",
                        f"The repository with name 'page/none' does not exist in the registry with id '{ACCOUNT}'")


def test_delete_needs_force_for_images(srv, ecr):
    ecr.create_repository(repositoryName="repos/del")
    Client(srv).push_image("repos/del", "v1")
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName="repos/del")
    assert error(e)[0] == "RepositoryNotEmptyException"
    deleted = ecr.delete_repository(repositoryName="repos/del", force=True)["repository"]
    assert deleted["repositoryName"] == "repos/del"
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName="repos/del")
    assert error(e)[0] == "RepositoryNotFoundException"
    assert_error(Client(srv).get_manifest("repos/del", "v1"), 404, "NAME_UNKNOWN")


def _push_tag(c: Client, name: str, tag: str, marker: str):
    """Push a fresh small image under `tag`; returns the response of the manifest PUT."""
    config = config_blob(marker)
    c.push_blob(name, config)
    layer = marker.encode() * 10
    c.push_blob(name, layer)
    body = image_manifest(descriptor("application/vnd.oci.image.config.v1+json", config),
                          [descriptor("application/vnd.oci.image.layer.v1.tar", layer)])
    return c.put_manifest(name, tag, body)


def test_tag_mutability_modes_on_pushes(srv, ecr):
    c = Client(srv)
    name = "repos/imm"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    assert _push_tag(c, name, "v1", "one").status_code == 201
    r = _push_tag(c, name, "v1", "two")
    assert_error(r, 400, "TAG_INVALID")
    assert ("The image tag 'v1' already exists in the 'repos/imm' repository and cannot be overwritten "
            "because the tag is immutable.") in r.text
    # not even the very same manifest may be pushed to the tag again (ECR)
    same = c.get_manifest(name, "v1")
    assert_error(c.put_manifest(name, "v1", same.content), 400, "TAG_INVALID")
    assert _push_tag(c, name, "v2", "two").status_code == 201, "new tags are fine"

    out = ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                       imageTagMutabilityExclusionFilters=[
                                           {"filterType": "WILDCARD", "filter": "dev-*"}])
    assert out["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert out["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "dev-*"}]
    assert _push_tag(c, name, "dev-1", "a").status_code == 201
    assert _push_tag(c, name, "dev-1", "b").status_code == 201, "excluded: mutable"
    assert_error(_push_tag(c, name, "v2", "c"), 400, "TAG_INVALID")

    ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE_WITH_EXCLUSION",
                                 imageTagMutabilityExclusionFilters=[
                                     {"filterType": "WILDCARD", "filter": "release-*"}])
    assert _push_tag(c, name, "v2", "d").status_code == 201, "mutable again"
    assert _push_tag(c, name, "release-1", "e").status_code == 201
    assert_error(_push_tag(c, name, "release-1", "f"), 400, "TAG_INVALID")

    ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
    assert _push_tag(c, name, "release-1", "g").status_code == 201
    repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE" and "imageTagMutabilityExclusionFilters" not in repo
    with pytest.raises(ClientError) as e:
        ecr.put_image_tag_mutability(repositoryName="repos/none", imageTagMutability="MUTABLE")
    assert error(e)[0] == "RepositoryNotFoundException"


def test_resource_tags(srv, admin, ecr):
    arn = ecr.create_repository(repositoryName="repos/tags")["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "9"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "a", "Value": "9"},
                                                                    {"Key": "b", "Value": "2"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["b", "missing"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "a", "Value": "9"}]
    with pytest.raises(ClientError) as e:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error(e)[0] == "TooManyTagsException"
    assert len(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == 1, "nothing written"
    for bad in ("arn:aws:ecr:eu-west-1:000000000000:repository/repos/tags", "arn:aws:s3:::bucket", "nonsense"):
        with pytest.raises(ClientError) as e:
            ecr.list_tags_for_resource(resourceArn=bad)
        assert error(e)[0] == "InvalidParameterException", bad
    with pytest.raises(ClientError) as e:
        ecr.list_tags_for_resource(resourceArn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/repos/none")
    assert error(e)[0] == "RepositoryNotFoundException"


def test_each_operation_is_authorised(srv, ecr):
    ecr.create_repository(repositoryName="repos/authz")
    key = h.new_user(srv, "repo-creator", h.policy(h.allow("ecr:CreateRepository")))
    limited = h.ecr(srv, key)
    limited.create_repository(repositoryName="repos/by-creator")
    with pytest.raises(ClientError) as e:
        limited.create_repository(repositoryName="repos/tagged", tags=[{"Key": "a", "Value": "b"}])
    assert error(e)[0] == "AccessDeniedException", "tags on create also need ecr:TagResource"
    for call in (lambda: limited.describe_repositories(),
                 lambda: limited.describe_repositories(repositoryNames=["repos/authz"]),
                 lambda: limited.delete_repository(repositoryName="repos/authz"),
                 lambda: limited.put_image_tag_mutability(repositoryName="repos/authz", imageTagMutability="IMMUTABLE"),
                 lambda: limited.list_tags_for_resource(resourceArn=h.repo_arn("repos/authz"))):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e)[0] == "AccessDeniedException"
    assert ecr.describe_repositories(repositoryNames=["repos/authz"])["repositories"][0]["imageTagMutability"] \
        == "MUTABLE", "nothing changed"


def test_policies_see_repository_tags(srv, ecr):
    """aws:ResourceTag conditions read the repository's tags, and a tag change applies at once."""
    arn = ecr.create_repository(repositoryName="repos/prod-tagged", tags=[{"Key": "env", "Value": "prod"}])[
        "repository"]["repositoryArn"]
    ecr.create_repository(repositoryName="repos/untagged")
    for name in ("repos/prod-tagged", "repos/untagged"):
        Client(srv).push_image(name, "v1")
    statement = h.allow(["ecr:BatchGetImage"], h.repo_arn("repos/*"),
                        condition={"StringEquals": {"aws:ResourceTag/env": "prod"}})
    key = h.new_user(srv, "prod-reader", h.policy(h.allow("ecr:GetAuthorizationToken"), statement))
    v2 = h.V2(srv, h.token(srv, key))
    assert v2.req("GET", "/v2/repos/prod-tagged/manifests/v1").status_code == 200
    assert v2.req("GET", "/v2/repos/untagged/manifests/v1").status_code == 403
    ecr.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert v2.req("GET", "/v2/repos/prod-tagged/manifests/v1").status_code == 403
