"""STS (GetCallerIdentity, AssumeRole) and the identity parts of the ECR API, through boto3
and raw signed requests.

What this proves:
* GetCallerIdentity names users (UserId AIDA…), account roots (UserId = account id) and role
  sessions (UserId `AROA…:<session>`, ARN `arn:aws:sts::<acct>:assumed-role/<role>/<session>`);
* AssumeRole: the default trust policy admits principals of the role's own account whose
  identity policy allows sts:AssumeRole, nobody else; a custom trust policy can admit
  another account (whose principal still needs its own sts:AssumeRole); an unknown role is
  refused like a refused one (no existence leak); DurationSeconds 900..MaxSessionDuration;
  RoleSessionName `[\\w+=,.@-]{2,64}`; a session assumed from a session cannot outlive it;
* a session acts with its role's policy, and is named in AccessDenied messages;
* errors come in each protocol's format: STS XML `<ErrorResponse>` (403 AccessDenied,
  400 ValidationError, InvalidAction), ECR JSON (InvalidParameterException for a bad
  registryId or repository name, SerializationException, UnknownOperationException);
  a request signed for the other service is InvalidSignatureException;
* GetAuthorizationToken's proxyEndpoint: the host the caller used (127.0.0.1:PORT) when it
  serves that registry, else the account's registry host (`<acct>.dkr.ecr.<region>.localhost`,
  as when the API was called on `api.ecr.<region>.localhost`).
"""

from __future__ import annotations

import base64
import datetime
import re

import pytest
import requests

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)

ACCOUNT = h.DEFAULT_ACCOUNT
OTHER = "111111111111"


@pytest.fixture(scope="module")
def s(module_factory):
    srv = h.serve(module_factory, ["--cache-ttl-ms", "0", "--regions", "us-east-1,eu-west-1"])
    h.create_account(srv, OTHER)
    role = h.create_role(srv, "deployer")
    h.put_policy(srv, h.policy(h.allow(["ecr:*"], h.repo_arn("sts/*")),
                               h.allow(["ecr:GetAuthorizationToken", "sts:AssumeRole"])),
                 role="deployer")
    srv.create_repo("sts/app")
    assumer = h.new_user(srv, "assumer", h.policy(h.allow("sts:AssumeRole", role)))
    return type("S", (), dict(srv=srv, admin=h.admin_key(srv), role=role, assumer=assumer))


def sts_fail(call) -> tuple[int, str, str]:
    with pytest.raises(Exception) as e:
        call()
    return h.client_error(e)


def test_get_caller_identity_forms(s):
    srv = s.srv
    user = h.sts(srv, s.assumer).get_caller_identity()
    assert user["Arn"] == h.user_arn("assumer") and user["Account"] == ACCOUNT
    assert re.fullmatch(r"AIDA[A-Z0-9]{16}", user["UserId"]), user["UserId"]
    listed = dict(line.split("\t") for line in
                  h.admin(srv, "user", "list").stdout.strip().splitlines())
    assert listed["assumer"] == user["UserId"]

    root = h.create_key(srv, root=True, account=OTHER)
    ident = h.sts(srv, root).get_caller_identity()
    assert (ident["Arn"], ident["UserId"], ident["Account"]) == (
        f"arn:aws:iam::{OTHER}:root", OTHER, OTHER)

    sess = h.assume_role(srv, s.assumer, s.role, "who-am-i")
    ident = h.sts(srv, sess).get_caller_identity()
    assert ident["Arn"] == h.assumed_role_arn("deployer", "who-am-i")
    role_id = dict(line.split("\t") for line in
                   h.admin(srv, "role", "list").stdout.strip().splitlines())["deployer"]
    assert role_id.startswith("AROA") and ident["UserId"] == f"{role_id}:who-am-i"


def test_assume_role_output_and_session_rights(s):
    srv = s.srv
    before = datetime.datetime.now(datetime.timezone.utc)
    out = h.sts(srv, s.assumer).assume_role(RoleArn=s.role, RoleSessionName="ci.run-7@x",
                                            DurationSeconds=900)
    c = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", c["AccessKeyId"])
    assert len(c["SecretAccessKey"]) == 40 and len(c["SessionToken"]) > 40
    assert abs((c["Expiration"] - before).total_seconds() - 900) < 60, c["Expiration"]
    assert out["AssumedRoleUser"]["Arn"] == h.assumed_role_arn("deployer", "ci.run-7@x")
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":ci.run-7@x")
    sess = h.Key(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    ecr = h.ecr(srv, sess)
    # the role's policy: ECR on sts/*, nothing else
    ecr.set_repository_policy(repositoryName="sts/app",
                              policyText=h.policy(h.grant(OTHER, "ecr:BatchGetImage")))
    srv.create_repo("other/app")
    err = sts_fail(lambda: ecr.get_repository_policy(repositoryName="other/app"))
    assert err == (400, "AccessDeniedException",
                   f"User: {h.assumed_role_arn('deployer', 'ci.run-7@x')} is not authorized to "
                   f"perform: ecr:GetRepositoryPolicy on resource: {h.repo_arn('other/app')}")
    # the assumer itself has no ECR rights
    err = sts_fail(lambda: h.ecr(srv, s.assumer).get_authorization_token())
    assert err[:2] == (400, "AccessDeniedException")


def test_default_trust_is_the_roles_own_account(s):
    srv = s.srv
    # same account, identity policy without sts:AssumeRole: refused
    plain = h.new_user(srv, "no-assume", h.policy(h.allow("ecr:*")))
    err = sts_fail(lambda: h.sts(srv, plain).assume_role(RoleArn=s.role, RoleSessionName="x1"))
    assert err == (403, "AccessDenied", f"User: {h.user_arn('no-assume')} is not authorized to "
                   f"perform: sts:AssumeRole on resource: {s.role}")
    # another account, even allowed sts:AssumeRole on everything by its own account: refused
    foreign = h.new_user(srv, "foreign", h.policy(h.allow("sts:AssumeRole")), account=OTHER)
    err = sts_fail(lambda: h.sts(srv, foreign).assume_role(RoleArn=s.role, RoleSessionName="x1"))
    assert err[:2] == (403, "AccessDenied")
    # an unknown role: the same answer as a refusal
    ghost = h.role_arn("ghost")
    err = sts_fail(lambda: h.sts(srv, s.assumer).assume_role(RoleArn=ghost,
                                                              RoleSessionName="x1"))
    assert err == (403, "AccessDenied", f"User: {h.user_arn('assumer')} is not authorized to "
                   f"perform: sts:AssumeRole on resource: {ghost}")


def test_cross_account_trust(s):
    srv = s.srv
    role = h.create_role(srv, "shared", trust=h.policy(h.grant(OTHER, "sts:AssumeRole")))
    h.put_policy(srv, h.policy(h.allow("ecr:GetAuthorizationToken")), role="shared")
    allowed = h.new_user(srv, "partner", h.policy(h.allow("sts:AssumeRole", role)),
                         account=OTHER)
    bare = h.new_user(srv, "partner-bare", h.policy(h.allow("ecr:*")), account=OTHER)
    sess = h.assume_role(srv, allowed, role, "partner-session")
    ident = h.sts(srv, sess).get_caller_identity()
    assert ident["Arn"] == h.assumed_role_arn("shared", "partner-session")
    assert ident["Account"] == ACCOUNT  # the session belongs to the role's account
    pw = h.token(srv, sess)
    assert h.V2(srv, pw).req("GET", "/v2/").status_code == 200
    # both sides are needed: the partner account's user without its own permission
    err = sts_fail(lambda: h.sts(srv, bare).assume_role(RoleArn=role, RoleSessionName="x1"))
    assert err[:2] == (403, "AccessDenied")


def test_trust_policy_binds_same_account_principals(s):
    srv = s.srv
    role = h.create_role(srv, "only-ci", trust=h.policy(h.grant(h.user_arn("ci-only"),
                                                                "sts:AssumeRole")))
    h.new_user(srv, "ci-only", h.policy(h.allow("sts:AssumeRole", role)))
    other = h.new_user(srv, "not-ci", h.policy(h.allow("sts:AssumeRole", role)))
    err = sts_fail(lambda: h.sts(srv, other).assume_role(RoleArn=role, RoleSessionName="x1"))
    assert err[:2] == (403, "AccessDenied")


@pytest.mark.parametrize("params,message", [
    ({"DurationSeconds": "899"}, "below 900"),
    ({"DurationSeconds": "3601"}, "exceeds the MaxSessionDuration"),
    ({"DurationSeconds": "soon"}, "DurationSeconds"),
    ({"RoleSessionName": "a"}, "roleSessionName"),
    ({"RoleSessionName": "has space"}, "roleSessionName"),
    ({"RoleSessionName": "x" * 65}, "roleSessionName"),
    ({"RoleArn": "arn:aws:iam::0000:role/x"}, "not a valid role ARN"),
    ({"RoleArn": None}, "RoleArn"),
])
def test_assume_role_validation(s, params, message):
    form = {"Action": "AssumeRole", "RoleArn": s.role, "RoleSessionName": "valid",
            **params}
    form = {k: v for k, v in form.items() if v is not None}
    r = h.sts_call(s.srv, form, key=s.assumer)
    assert r.status_code == 400 and h.sts_error_code(r) == "ValidationError", r.text
    assert r.headers["Content-Type"].startswith("text/xml")
    assert message in r.text.replace("&apos;", "'"), r.text


def test_role_chaining_cannot_outlive_the_first_session(s):
    srv = s.srv
    first = h.sts(srv, s.assumer).assume_role(RoleArn=s.role, RoleSessionName="first",
                                              DurationSeconds=900)["Credentials"]
    key = h.Key(first["AccessKeyId"], first["SecretAccessKey"], first["SessionToken"])
    second = h.sts(srv, key).assume_role(RoleArn=s.role, RoleSessionName="second",
                                         DurationSeconds=3600)["Credentials"]
    assert second["Expiration"] <= first["Expiration"]
    # the token of a session ends with the session as well
    data = h.ecr(srv, key).get_authorization_token()["authorizationData"][0]
    assert data["expiresAt"] <= first["Expiration"]


def test_errors_in_each_protocol(s):
    srv, key = s.srv, s.admin
    r = h.sts_call(srv, {"Action": "GetSessionToken"}, key=key)
    assert r.status_code == 400 and h.sts_error_code(r) == "InvalidAction", r.text
    assert r.headers.get("x-amzn-RequestId") and r.headers["x-amzn-RequestId"] in r.text
    r = h.ecr_call(srv, "NoSuchOperation", {}, key=key)
    assert h.api_error(r)[:2] == (400, "UnknownOperationException")
    r = h.ecr_call(srv, "GetRepositoryPolicy", {"repositoryName": "sts/app",
                                                "registryId": "12"}, key=key)
    assert h.api_error(r)[:2] == (400, "InvalidParameterException"), r.text
    r = h.ecr_call(srv, "GetRepositoryPolicy", {"repositoryName": "Not A Name"}, key=key)
    assert h.api_error(r)[:2] == (400, "InvalidParameterException"), r.text
    r = h.ecr_call(srv, "GetRepositoryPolicy", b"{not json", key=key)
    assert h.api_error(r)[:2] == (400, "SerializationException"), r.text
    # signed for the wrong service: ECR call with an `sts` scope, STS call with `ecr`
    r = h.ecr_call(srv, "GetAuthorizationToken", {}, key=key, service="sts")
    assert h.api_error(r) == (400, "InvalidSignatureException",
                              "Credential should be scoped to correct service: 'ecr'. ")
    url, headers = h.signed("POST", srv.url + "/", {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=GetCallerIdentity&Version=2011-06-15", key, "ecr")
    r = requests.post(url, headers=headers, data=b"Action=GetCallerIdentity&Version=2011-06-15",
                      timeout=10)
    assert r.status_code == 403 and h.sts_error_code(r) == "SignatureDoesNotMatch", r.text
    # unsigned STS call
    r = h.sts_call(srv, {"Action": "GetCallerIdentity"})
    assert r.status_code == 403 and h.sts_error_code(r) == "MissingAuthenticationToken", r.text


def _proxy_endpoint(srv, key, api_host: str, region: str = h.DEFAULT_REGION, body=None):
    url = f"http://{api_host}/"
    data = b"{}" if body is None else body
    headers = {"Content-Type": h.ECR_JSON,
               "X-Amz-Target": h.ECR_TARGET + "GetAuthorizationToken"}
    _, signed_headers = h.signed("POST", url, headers, data, key, "ecr", region)
    r = requests.post(srv.url + "/", headers=signed_headers, data=data, timeout=10)
    assert r.status_code == 200, r.text
    return [d["proxyEndpoint"] for d in r.json()["authorizationData"]], r.json()


def test_proxy_endpoint_follows_the_api_host(s):
    srv, key, port = s.srv, s.admin, s.srv.port
    assert _proxy_endpoint(srv, key, srv.host)[0] == [srv.url]
    eps, _ = _proxy_endpoint(srv, key, f"api.ecr.us-east-1.localhost:{port}")
    assert eps == [f"http://{ACCOUNT}.dkr.ecr.us-east-1.localhost:{port}"]
    eps, out = _proxy_endpoint(srv, key, f"api.ecr.eu-west-1.localhost:{port}", "eu-west-1")
    assert eps == [f"http://{ACCOUNT}.dkr.ecr.eu-west-1.localhost:{port}"]
    # that token is for eu-west-1: it works on that registry host
    pw = base64.b64decode(out["authorizationData"][0]["authorizationToken"]).decode()[4:]
    assert h.V2(srv, pw, host=f"{ACCOUNT}.dkr.ecr.eu-west-1.localhost:{port}").req(
        "GET", "/v2/").status_code == 200
    # registryIds (deprecated): one entry per id, with that registry's host
    eps, _ = _proxy_endpoint(srv, key, f"api.ecr.us-east-1.localhost:{port}",
                             body=b'{"registryIds": ["000000000000", "111111111111"]}')
    assert eps == [f"http://{ACCOUNT}.dkr.ecr.us-east-1.localhost:{port}",
                   f"http://{OTHER}.dkr.ecr.us-east-1.localhost:{port}"]
    # on the default host, the default registry keeps that host; another account's does not
    eps, _ = _proxy_endpoint(srv, key, srv.host,
                             body=b'{"registryIds": ["000000000000", "111111111111"]}')
    assert eps == [srv.url, f"http://{OTHER}.dkr.ecr.us-east-1.localhost:{port}"]
