"""Registry-wide ECR operations: GetAccountSetting / PutAccountSetting (BLOB_MOUNTING,
REGISTRY_POLICY_SCOPE, with their effects) and DescribeRegistry."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import Client, rand_bytes

OTHER = "111111111111"


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0"])


@pytest.fixture(scope="module")
def ecr(srv):
    return h.ecr(srv, h.admin_key(srv))


def test_settings_default_to_ecrs_and_round_trip(srv, ecr):
    got = ecr.get_account_setting(name="BLOB_MOUNTING")
    assert (got["name"], got["value"]) == ("BLOB_MOUNTING", "DISABLED")
    assert ecr.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V2"
    out = ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert (out["name"], out["value"]) == ("BLOB_MOUNTING", "ENABLED")
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "ENABLED"
    ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
    for name, value in (("NO_SUCH_SETTING", "ENABLED"), ("BLOB_MOUNTING", "MAYBE"), ("REGISTRY_POLICY_SCOPE", "V3")):
        with pytest.raises(ClientError) as e:
            ecr.put_account_setting(name=name, value=value)
        assert h.client_error(e)[1] == "InvalidParameterException", (name, value)
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED", "nothing changed"


def test_describe_registry(ecr):
    out = ecr.describe_registry()
    assert out["registryId"] == h.DEFAULT_ACCOUNT
    assert out["replicationConfiguration"] == {"rules": []}


def test_settings_need_their_actions(srv):
    key = h.new_user(srv, "settings-reader", h.policy(h.allow("ecr:GetAccountSetting")))
    limited = h.ecr(srv, key)
    assert limited.get_account_setting(name="BLOB_MOUNTING")["value"] in ("DISABLED", "ENABLED")
    with pytest.raises(ClientError) as e:
        limited.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert h.client_error(e)[1] == "AccessDeniedException"


def test_blob_mounting_setting_decides_mounts(srv, ecr):
    c = Client(srv)
    srv.create_repo("acct/src")
    srv.create_repo("acct/dst")
    d = c.push_blob("acct/src", rand_bytes(64))
    r = c.start_upload("acct/dst", mount=d, **{"from": "acct/src"})
    assert r.status_code == 202
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert c.start_upload("acct/dst", mount=d, **{"from": "acct/src"}).status_code == 201
    ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")


def test_registry_policy_scope_v1_only_decides_its_three_actions(srv, ecr):
    name = "acct/shared"
    srv.create_repo(name)
    Client(srv).push_image(name, "v1")
    h.create_account(srv, OTHER)
    pull = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    outsider = h.new_user(srv, "outsider", h.policy(h.allow(pull)), account=OTHER)
    ecr.put_registry_policy(policyText=h.policy(h.grant(OTHER, pull[1:])))
    v2 = h.V2(srv, h.token(srv, outsider))
    assert v2.req("GET", f"/v2/{name}/manifests/v1").status_code == 200, "V2: the registry policy grants"
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    assert v2.req("GET", f"/v2/{name}/manifests/v1").status_code == 403, "V1: it no longer decides pulls"
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V2")
    assert v2.req("GET", f"/v2/{name}/manifests/v1").status_code == 200
    ecr.delete_registry_policy()


def test_api_bodies_have_a_limit(module_factory):  # noqa: F811
    """A body over --max-api-body-bytes is refused in the API's format, and nothing is done."""
    small = h.serve(module_factory, extra_args=["--max-api-body-bytes", "2000"])
    key = h.admin_key(small)
    body = {"repositoryName": "limit/app", "tags": [{"Key": f"k{i}", "Value": "v" * 100} for i in range(30)]}
    status, kind, message = h.api_error(h.ecr_call(small, "CreateRepository", body, key=key))
    assert (status, kind) == (400, "InvalidParameterException") and "2000" in message, message
    with pytest.raises(ClientError) as e:
        h.ecr(small, key).describe_repositories(repositoryNames=["limit/app"])
    assert h.client_error(e)[1] == "RepositoryNotFoundException"
