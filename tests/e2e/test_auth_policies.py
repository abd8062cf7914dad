"""Repository and registry policies through boto3, and what they do to registry requests.

What this proves:
* Set/Get/DeleteRepositoryPolicy round-trip the policy text byte for byte; a missing policy
  is RepositoryPolicyNotFoundException, a missing repository RepositoryNotFoundException;
* bad policies are InvalidParameterException: not JSON, bad Effect, a non-ECR action, no
  Principal, an empty Statement, a bad Version, more than 10240 characters (10240 exactly
  is fine);
* the lock-out guard: a policy that would deny the caller ecr:SetRepositoryPolicy is refused
  unless `force` is set; with force it is stored and then binds the caller;
* Put/Get/DeleteRegistryPolicy round-trip; RegistryPolicyNotFoundException; a registry policy
  grants across accounts on every repository of the registry;
* cross-account pulls: a repository policy granting another account (id, root ARN, user ARN
  or "*") lets that account's users pull, if their own identity policy allows it too; only
  what is granted (pull, not push); removing the policy denies again at once
  (`--cache-ttl-ms 0`);
* conditions on real requests: aws:SourceIp (127.0.0.1/32 vs 10.0.0.0/8, NotIpAddress),
  aws:SecureTransport false (plain HTTP), aws:PrincipalArn with ArnLike,
  aws:PrincipalAccount, aws:username in an identity policy.
"""

from __future__ import annotations

import json

import pytest

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)

ACCOUNT = h.DEFAULT_ACCOUNT
OTHER = "111111111111"
THIRD = "333333333333"


class Env:
    """The module's server with a seeded repository and callers of two other accounts."""

    def __init__(self, srv):
        self.srv = srv
        self.admin_key = h.admin_key(srv)
        self.ecr = h.ecr(srv, self.admin_key)
        self.admin = h.V2(srv, h.token(srv, self.admin_key))
        h.create_account(srv, OTHER)
        h.create_account(srv, THIRD)
        self.other_root = h.create_key(srv, root=True, account=OTHER)
        everything = h.policy(h.allow("ecr:*"))
        # users of the other account, all allowed ecr:* by their own account
        self.ci = h.new_user(srv, "ci-bot", everything, account=OTHER)
        self.dev = h.new_user(srv, "dev", everything, account=OTHER)
        self.bare = h.new_user(srv, "bare", h.policy(h.allow("ecr:GetAuthorizationToken")),
                               account=OTHER)
        self.third = h.new_user(srv, "t", everything, account=THIRD)
        self.tokens = {}

    def token(self, key):
        if key not in self.tokens:
            self.tokens[key] = h.token(self.srv, key)
        return self.tokens[key]

    def v2(self, key):
        return h.V2(self.srv, self.token(key))

    def new_repo(self, name):
        self.srv.create_repo(name)
        digest, _, layer = self.admin.push_image(name, "v1")
        return digest, layer

    def pull_status(self, key, repo) -> int:
        """Status of a manifest GET (the pull's first request) by `key`."""
        r = self.v2(key).get_manifest(repo, "v1")
        assert r.status_code in (200, 403), (r.status_code, r.text)
        if r.status_code == 403:
            assert h.error_codes(r) == ["DENIED"], r.text
        return r.status_code


@pytest.fixture(scope="module")
def env(module_factory):
    return Env(h.serve(module_factory, ["--cache-ttl-ms", "0"]))


def err(excinfo):
    return h.client_error(excinfo)[:2]


# --------------------------------------------------------------------------- round trips
def test_repository_policy_round_trip(env):
    repo = "pol/roundtrip"
    env.srv.create_repo(repo)
    # deliberately odd formatting, key order and a non-ASCII Sid: stored and returned as is
    text = ('{\n  "Statement" : [ {"Sid": "caf\u00e9-pull", "Principal": {"AWS": ["' + OTHER
            + '"]},\n     "Effect":"Allow", "Action" : "ecr:BatchGetImage"} ],\n'
            '  "Version": "2012-10-17"   }\n')
    out = env.ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert (out["registryId"], out["repositoryName"], out["policyText"]) == (ACCOUNT, repo, text)
    got = env.ecr.get_repository_policy(repositoryName=repo)
    assert got["policyText"] == text and got["registryId"] == ACCOUNT
    assert env.ecr.get_repository_policy(registryId=ACCOUNT, repositoryName=repo)[
        "policyText"] == text
    # replaced by a second set
    text2 = h.policy(h.grant(OTHER, "ecr:ListImages"))
    env.ecr.set_repository_policy(repositoryName=repo, policyText=text2)
    assert env.ecr.get_repository_policy(repositoryName=repo)["policyText"] == text2
    deleted = env.ecr.delete_repository_policy(repositoryName=repo)
    assert deleted["policyText"] == text2
    for call in (env.ecr.get_repository_policy, env.ecr.delete_repository_policy):
        with pytest.raises(env.ecr.exceptions.RepositoryPolicyNotFoundException) as e:
            call(repositoryName=repo)
        assert err(e) == (400, "RepositoryPolicyNotFoundException")


def test_policy_operations_on_a_missing_repository(env):
    for call, kw in ((env.ecr.get_repository_policy, {}),
                     (env.ecr.delete_repository_policy, {}),
                     (env.ecr.set_repository_policy,
                      {"policyText": h.policy(h.grant(OTHER, "ecr:*"))})):
        with pytest.raises(env.ecr.exceptions.RepositoryNotFoundException) as e:
            call(repositoryName="pol/does-not-exist", **kw)
        assert err(e) == (400, "RepositoryNotFoundException")
        assert "pol/does-not-exist" in h.client_error(e)[2]


def _padded(size: int) -> str:
    base = h.policy(h.grant(OTHER, "ecr:BatchGetImage"))
    assert len(base) < size
    return base[:-1] + " " * (size - len(base)) + base[-1]


BAD_POLICIES = {
    "not JSON": '{"Version": "2012-10-17", "Statement": [',
    "not an object": '["Allow"]',
    "bad Effect": h.policy({"Effect": "Maybe", "Principal": {"AWS": OTHER},
                            "Action": "ecr:BatchGetImage"}),
    "non-ECR action": h.policy(h.grant(OTHER, "s3:GetObject")),
    "no Principal": h.policy({"Effect": "Allow", "Action": "ecr:BatchGetImage"}),
    "empty Statement": json.dumps({"Version": "2012-10-17", "Statement": []}),
    "bad Version": json.dumps({"Version": "2020-01-01",
                               "Statement": [h.grant(OTHER, "ecr:BatchGetImage")]}),
    "unknown key": h.policy({**h.grant(OTHER, "ecr:BatchGetImage"), "Colour": "red"}),
    "bad condition operator": h.policy(h.grant(OTHER, "ecr:BatchGetImage", condition={
        "StringSmellsLike": {"aws:username": "x"}})),
    "oversize (10241)": _padded(10241),
}


@pytest.fixture(scope="module")
def invalid_repo(env):
    env.srv.create_repo("pol/invalid")
    return "pol/invalid"


@pytest.mark.parametrize("what", list(BAD_POLICIES))
def test_invalid_policy_text(env, invalid_repo, what):
    repo = invalid_repo
    text = BAD_POLICIES[what]
    with pytest.raises(env.ecr.exceptions.InvalidParameterException) as e:
        env.ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert err(e) == (400, "InvalidParameterException")
    assert "PolicyText" in h.client_error(e)[2] or "policy" in h.client_error(e)[2].lower()
    with pytest.raises(env.ecr.exceptions.InvalidParameterException):
        env.ecr.put_registry_policy(policyText=text)
    with pytest.raises(env.ecr.exceptions.RepositoryPolicyNotFoundException):
        env.ecr.get_repository_policy(repositoryName=repo)


def test_policy_of_exactly_10240_characters_is_accepted(env):
    repo = "pol/max-size"
    env.srv.create_repo(repo)
    text = _padded(10240)
    assert len(text) == 10240
    assert env.ecr.set_repository_policy(repositoryName=repo, policyText=text)["policyText"] == text
    assert env.ecr.get_repository_policy(repositoryName=repo)["policyText"] == text


def test_lockout_guard(env):
    srv, repo = env.srv, "pol/lockout"
    srv.create_repo(repo)
    key = h.new_user(srv, "guarded", h.policy(h.allow("ecr:*")))
    ecr = h.ecr(srv, key)
    arn = h.user_arn("guarded")
    # a policy that leaves the caller able to set policies: no force needed
    fine = h.policy(h.grant(OTHER, "ecr:BatchGetImage"))
    ecr.set_repository_policy(repositoryName=repo, policyText=fine)
    lockout = h.policy(h.grant(arn, "ecr:SetRepositoryPolicy", effect="Deny"))
    with pytest.raises(ecr.exceptions.InvalidParameterException) as e:
        ecr.set_repository_policy(repositoryName=repo, policyText=lockout)
    assert "would prevent you from setting another policy" in h.client_error(e)[2]
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == fine
    # also when the deny comes by wildcard action and the principal "*"
    lockout_all = h.policy(h.grant("*", "ecr:Set*", effect="Deny"))
    with pytest.raises(ecr.exceptions.InvalidParameterException):
        ecr.set_repository_policy(repositoryName=repo, policyText=lockout_all)
    # force: stored, and from then on the caller is denied (explicitly)
    out = ecr.set_repository_policy(repositoryName=repo, policyText=lockout, force=True)
    assert out["policyText"] == lockout
    with pytest.raises(ecr.exceptions.ClientError) as e:
        ecr.set_repository_policy(repositoryName=repo, policyText=fine, force=True)
    assert err(e) == (400, "AccessDeniedException")
    assert h.client_error(e)[2] == (
        f"User: {arn} is not authorized to perform: ecr:SetRepositoryPolicy on resource: "
        f"{h.repo_arn(repo)} with an explicit deny")
    # other actions still work for the caller; another administrator can undo it
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == lockout
    env.ecr.delete_repository_policy(repositoryName=repo)
    ecr.set_repository_policy(repositoryName=repo, policyText=fine)


def test_registry_policy_round_trip_and_effect(env):
    srv = env.srv
    with pytest.raises(env.ecr.exceptions.RegistryPolicyNotFoundException) as e:
        env.ecr.get_registry_policy()
    assert err(e) == (400, "RegistryPolicyNotFoundException")
    with pytest.raises(env.ecr.exceptions.RegistryPolicyNotFoundException):
        env.ecr.delete_registry_policy()

    repo = "pol/registry-wide"
    env.new_repo(repo)
    assert env.pull_status(env.third, repo) == 403
    text = h.policy(h.grant(THIRD, ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            resources=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/pol/*",
                            sid="ThirdPullsPol"))
    out = env.ecr.put_registry_policy(policyText=text)
    assert (out["registryId"], out["policyText"]) == (ACCOUNT, text)
    assert env.ecr.get_registry_policy()["policyText"] == text
    # the registry policy reaches every repository it names, for the granted account only
    assert env.pull_status(env.third, repo) == 200
    assert env.pull_status(env.dev, repo) == 403
    other_repo = "regwide/outside"
    env.new_repo(other_repo)
    assert env.pull_status(env.third, other_repo) == 403
    # the other account's own registry is not this one's: its registry policy is separate
    other_ecr = h.ecr(srv, env.other_root)
    with pytest.raises(other_ecr.exceptions.RegistryPolicyNotFoundException):
        other_ecr.get_registry_policy()
    deleted = env.ecr.delete_registry_policy()
    assert deleted["policyText"] == text
    assert env.pull_status(env.third, repo) == 403


# --------------------------------------------------------------------------- cross-account
GRANTEES = {"account-id": OTHER, "root-arn": f"arn:aws:iam::{OTHER}:root", "anyone": "*"}


@pytest.mark.parametrize("grantee", list(GRANTEES))
def test_cross_account_pull_granted_and_revoked(env, grantee):
    """A repository policy granting the other account pull: its users pull (manifest and
    blob), cannot push; removing the policy denies again at once."""
    principal = GRANTEES[grantee]
    repo = f"xacct/pull-{grantee}"
    digest, layer = env.new_repo(repo)
    v = env.v2(env.dev)
    h.assert_v2_error(v.get_manifest(repo, "v1"), 403, "DENIED",
                      f"User: {h.user_arn('dev', OTHER)} is not authorized to perform: "
                      f"ecr:BatchGetImage on resource: {h.repo_arn(repo)}")
    env.ecr.set_repository_policy(repositoryName=repo, policyText=h.policy(
        h.grant(principal, h.PULL_ACTIONS, sid="OtherAccountPulls")))
    r = v.get_manifest(repo, "v1")
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == digest
    r = v.req("GET", f"/v2/{repo}/blobs/{layer}")
    assert r.status_code == 200 and h.sha256(r.content) == layer
    assert v.req("HEAD", f"/v2/{repo}/blobs/{layer}").status_code == 200
    # pull only: no push, no delete, no listing
    h.assert_v2_error(v.req("POST", f"/v2/{repo}/blobs/uploads/"), 403, "DENIED")
    h.assert_v2_error(v.req("DELETE", f"/v2/{repo}/manifests/{digest}"), 403, "DENIED")
    h.assert_v2_error(v.req("GET", f"/v2/{repo}/tags/list"), 403, "DENIED")
    # a user of the other account whose own policy does not allow pulling stays out
    assert env.pull_status(env.bare, repo) == 403
    env.ecr.delete_repository_policy(repositoryName=repo)
    h.assert_v2_error(v.get_manifest(repo, "v1"), 403, "DENIED")
    h.assert_v2_error(v.req("GET", f"/v2/{repo}/blobs/{layer}"), 403, "DENIED")


def test_cross_account_grant_to_one_user(env):
    repo = "xacct/one-user"
    env.new_repo(repo)
    env.ecr.set_repository_policy(repositoryName=repo, policyText=h.policy(
        h.grant(h.user_arn("ci-bot", OTHER), h.PULL_ACTIONS)))
    assert env.pull_status(env.ci, repo) == 200
    assert env.pull_status(env.dev, repo) == 403
    assert env.pull_status(env.third, repo) == 403


def test_cross_account_push_when_granted(env):
    repo = "xacct/push"
    env.new_repo(repo)
    env.ecr.set_repository_policy(repositoryName=repo, policyText=h.policy(
        h.grant(OTHER, h.PULL_ACTIONS + h.PUSH_ACTIONS)))
    v = env.v2(env.ci)
    digest, body, _ = v.push_image(repo, "from-other")
    got = env.admin.get_manifest(repo, "from-other")
    assert got.status_code == 200 and got.content == body


# --------------------------------------------------------------------------- conditions
def _conditional_repo(env, name, statement_condition, principal=None):
    """A repository whose policy allows pull to `principal` (default: a same-account user
    with no ECR permissions of its own) under a condition; returns (repo, key)."""
    repo = f"cond/{name}"
    env.new_repo(repo)
    if principal is None:
        principal = h.user_arn("cond-user")
    env.ecr.set_repository_policy(repositoryName=repo, policyText=h.policy(
        h.grant(principal, h.PULL_ACTIONS, condition=statement_condition)))
    return repo


@pytest.fixture(scope="module")
def cond_user(env):
    """A same-account user allowed only GetAuthorizationToken: what it may pull comes from
    repository policies alone."""
    return h.new_user(env.srv, "cond-user", h.policy(h.allow("ecr:GetAuthorizationToken")))


@pytest.mark.parametrize("operator,cidr,expected", [
    ("IpAddress", "127.0.0.1/32", 200),
    ("IpAddress", "127.0.0.0/8", 200),
    ("IpAddress", "10.0.0.0/8", 403),
    ("NotIpAddress", "10.0.0.0/8", 200),
    ("NotIpAddress", "127.0.0.1/32", 403),
])
def test_condition_source_ip(env, cond_user, operator, cidr, expected):
    repo = _conditional_repo(env, f"ip-{operator.lower()}-{cidr.replace('/', '-')}",
                             {operator: {"aws:SourceIp": cidr}})
    assert env.pull_status(cond_user, repo) == expected


def test_condition_secure_transport(env, cond_user):
    """Over plain HTTP aws:SecureTransport is false: an Allow that requires TLS does not
    apply, and the usual "deny unless TLS" statement denies (even an allowed identity)."""
    repo = _conditional_repo(env, "tls-required", {"Bool": {"aws:SecureTransport": "true"}})
    assert env.pull_status(cond_user, repo) == 403
    repo = _conditional_repo(env, "tls-optional", {"Bool": {"aws:SecureTransport": "false"}})
    assert env.pull_status(cond_user, repo) == 200
    # deny-unless-TLS beats the administrator's allow-everything identity policy
    repo = "cond/deny-plain-http"
    env.new_repo(repo)
    env.ecr.set_repository_policy(repositoryName=repo, policyText=h.policy(
        h.grant("*", "ecr:BatchGetImage", effect="Deny",
                condition={"Bool": {"aws:SecureTransport": "false"}})))
    h.assert_v2_error(env.admin.get_manifest(repo, "v1"), 403, "DENIED",
                      f"User: {h.user_arn('admin')} is not authorized to perform: "
                      f"ecr:BatchGetImage on resource: {h.repo_arn(repo)} with an explicit deny")
    env.ecr.delete_repository_policy(repositoryName=repo)
    assert env.admin.get_manifest(repo, "v1").status_code == 200


def test_condition_principal_arn_like(env):
    """Principal "*" narrowed by ArnLike aws:PrincipalArn: only the other account's `ci-*`
    users pull."""
    repo = _conditional_repo(env, "arnlike", {"ArnLike": {
        "aws:PrincipalArn": f"arn:aws:iam::{OTHER}:user/ci-*"}}, principal="*")
    assert env.pull_status(env.ci, repo) == 200
    assert env.pull_status(env.dev, repo) == 403
    assert env.pull_status(env.third, repo) == 403
    repo = _conditional_repo(env, "notarnlike", {"ArnNotLike": {
        "aws:PrincipalArn": f"arn:aws:iam::{OTHER}:user/ci-*"}}, principal=OTHER)
    assert env.pull_status(env.ci, repo) == 403
    assert env.pull_status(env.dev, repo) == 200


def test_condition_principal_account(env):
    repo = _conditional_repo(env, "principal-account", {"StringEquals": {
        "aws:PrincipalAccount": THIRD}}, principal="*")
    assert env.pull_status(env.third, repo) == 200
    assert env.pull_status(env.dev, repo) == 403


def test_condition_username_in_identity_policy(env):
    """An identity policy statement conditioned on StringEquals aws:username applies to
    the user it names only (two users with the same policy document)."""
    srv = env.srv
    repo = "cond/username"
    env.new_repo(repo)
    doc = h.policy(h.allow(h.PULL_ACTIONS, h.repo_arn(repo),
                           condition={"StringEquals": {"aws:username": "uname-yes"}}),
                   h.allow("ecr:GetAuthorizationToken"))
    yes = h.new_user(srv, "uname-yes", doc)
    no = h.new_user(srv, "uname-no", doc)
    assert env.pull_status(yes, repo) == 200
    assert env.pull_status(no, repo) == 403
