"""Real clients authenticate to wharf the way they do to Amazon ECR.

What this proves:
* boto3 and the AWS CLI (v1) sign requests wharf accepts: `aws sts get-caller-identity`,
  `aws sts assume-role`, `aws ecr get-login-password`, all with `--endpoint-url`;
* `aws ecr get-login-password | docker login --username AWS --password-stdin 127.0.0.1:PORT`
  then `docker push` / `docker pull` of an image made with `docker import` (a tiny tar);
  `wharf get-login-password` is a drop-in for the AWS CLI command;
* docker shows wharf's refusals: a user without pull rights gets "denied … not authorized",
  an expired token (server `--token-lifetime-secs 3`) gets ECR's "Your authorization token
  has expired" message;
* skopeo: `skopeo login` with a token, then a copy in and out;
* temporary credentials: `aws sts assume-role` by a user, then `AWS_SESSION_TOKEN` with
  `aws ecr get-login-password` and a docker pull as the role session.

Docker's credentials are isolated per test with DOCKER_CONFIG=<tmpdir>; every image tagged
here is removed from the engine afterwards.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import images
import iamhelp as h
from conftest import need_docker, need_tool
from iamhelp import module_factory  # noqa: F401  (fixture)


@pytest.fixture
def docker_env(tmp_path):
    """A private DOCKER_CONFIG (credentials of `docker login` stay in the test)."""
    d = tmp_path / "docker-config"
    d.mkdir()
    return {"DOCKER_CONFIG": str(d)}


@pytest.fixture
def tags():
    """Image references made by a test; all removed from the engine afterwards."""
    made: list[str] = []
    yield made
    for t in made:
        subprocess.run(["docker", "rmi", "-f", t], capture_output=True, timeout=120)


def aws(*args: str, key: h.Key, check: bool = True) -> subprocess.CompletedProcess:
    need_tool("aws")
    return h.run("aws", *args, env=key.env(), check=check)


def docker(*args: str, env: dict, input: str | None = None, check: bool = True):
    return h.run("docker", *args, env=env, input=input, check=check)


def docker_login(srv, password: str, env: dict) -> None:
    out = docker("login", "--username", "AWS", "--password-stdin", srv.host, env=env,
                 input=password + "\n")
    assert "Login Succeeded" in out.stdout, out.stdout + out.stderr
    cfg = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert srv.host in cfg["auths"], cfg


def import_image(ref: str, tmp_path) -> str:
    """`docker import` of a one-file tar as `ref`; returns the image id."""
    tar = h.tiny_rootfs_tar(tmp_path / f"{uuid.uuid4().hex}.tar", uuid.uuid4().hex)
    out = subprocess.run(["docker", "import", str(tar), ref], check=True, capture_output=True,
                         text=True, timeout=120)
    return out.stdout.strip()


def image_id(ref: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], check=True,
                          capture_output=True, text=True, timeout=60).stdout.strip()


@pytest.fixture(scope="module")
def srv(module_factory):
    """The module's server (identity changes take effect at once)."""
    return h.serve(module_factory, ["--cache-ttl-ms", "0"])


@pytest.fixture(scope="module")
def pushed(srv, tmp_path_factory):
    """An image pushed with docker by the administrator (AWS CLI login):
    (reference, image id, manifest digest)."""
    need_docker()
    tmp = tmp_path_factory.mktemp("pushed")
    env = {"DOCKER_CONFIG": str(tmp)}
    repo = "clients/pushed"
    srv.create_repo(repo)
    ref = f"{srv.host}/{repo}:v1"
    iid = import_image(ref, tmp)
    try:
        pw = aws("ecr", "get-login-password", "--endpoint-url", srv.url,
                 key=h.admin_key(srv)).stdout.strip()
        docker_login(srv, pw, env)
        out = docker("push", ref, env=env).stdout
        m = re.search(r"v1: digest: (sha256:[0-9a-f]{64})", out)
        assert m, out
        yield ref, iid, m.group(1)
    finally:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, timeout=120)


# --------------------------------------------------------------------------- SigV4 clients
def test_aws_cli_and_boto3_sign_requests(srv):
    key = h.admin_key(srv)
    out = aws("sts", "get-caller-identity", "--endpoint-url", srv.url, "--output", "json",
              key=key)
    ident = json.loads(out.stdout)
    assert ident["Arn"] == h.user_arn("admin") and ident["Account"] == h.DEFAULT_ACCOUNT
    assert ident["UserId"].startswith("AIDA")

    user = h.new_user(srv, "boto-user", h.policy(h.allow("ecr:GetAuthorizationToken")))
    got = h.sts(srv, user).get_caller_identity()
    assert got["Arn"] == h.user_arn("boto-user") and got["Account"] == h.DEFAULT_ACCOUNT
    data = h.ecr(srv, user).get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == srv.url

    # a wrong secret: the AWS CLI reports wharf's error code
    bad = aws("sts", "get-caller-identity", "--endpoint-url", srv.url,
              key=user.with_secret("z" * 40), check=False)
    assert bad.returncode != 0 and "SignatureDoesNotMatch" in bad.stderr, bad.stderr
    bad = aws("ecr", "get-login-password", "--endpoint-url", srv.url,
              key=h.Key("AKIAUNKNOWNKEY000000", "z" * 40), check=False)
    assert bad.returncode != 0 and "UnrecognizedClientException" in bad.stderr, bad.stderr


# --------------------------------------------------------------------------- docker
def test_docker_login_push_pull_with_aws_cli(srv, pushed, docker_env, tags, tmp_path):
    ref, iid, digest = pushed
    # a second user, allowed to pull and push: its own login, push, rmi, pull
    user = h.new_user(srv, "docker-user", h.policy(
        h.allow(h.PULL_ACTIONS + h.PUSH_ACTIONS, h.repo_arn("clients/*")),
        h.allow("ecr:GetAuthorizationToken")))
    pw = aws("ecr", "get-login-password", "--endpoint-url", srv.url, key=user).stdout.strip()
    docker_login(srv, pw, docker_env)
    srv.create_repo("clients/own")
    mine = f"{srv.host}/clients/own:v1"
    tags.append(mine)
    my_id = import_image(mine, tmp_path)
    out = docker("push", mine, env=docker_env).stdout
    my_digest = re.search(r"v1: digest: (sha256:[0-9a-f]{64})", out).group(1)
    docker("rmi", mine, env=docker_env)
    pull = docker("pull", mine, env=docker_env).stdout
    assert f"Digest: {my_digest}" in pull and image_id(mine) == my_id
    # the administrator's image too
    other = f"{srv.host}/clients/pushed@{digest}"
    tags.append(other)
    docker("pull", other, env=docker_env)
    assert image_id(other) == iid


def test_wharf_get_login_password_for_docker(srv, pushed, docker_env, tags):
    ref, iid, digest = pushed
    user = h.new_user(srv, "wharf-cli-user", h.policy(
        h.allow(h.PULL_ACTIONS, h.repo_arn("clients/pushed")),
        h.allow("ecr:GetAuthorizationToken")))
    pw = h.get_login_password(srv, user).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", pw), pw[:20]
    docker_login(srv, pw, docker_env)
    by_digest = f"{srv.host}/clients/pushed@{digest}"
    tags.append(by_digest)
    docker("pull", by_digest, env=docker_env)
    assert image_id(by_digest) == iid


def test_docker_pull_without_pull_rights_is_denied(srv, pushed, docker_env, tags):
    ref, _, _ = pushed
    user = h.new_user(srv, "no-pull", h.policy(h.allow("ecr:GetAuthorizationToken")))
    pw = aws("ecr", "get-login-password", "--endpoint-url", srv.url, key=user).stdout.strip()
    docker_login(srv, pw, docker_env)  # a valid token: login works, it grants nothing
    tags.append(ref)
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, timeout=120)
    out = docker("pull", ref, env=docker_env, check=False)
    assert out.returncode != 0
    text = (out.stdout + out.stderr).lower()
    assert "denied" in text and "not authorized" in text, out.stdout + out.stderr
    assert "ecr:batchgetimage" in text, out.stdout + out.stderr
    # without any login at all: docker is asked for credentials
    anon = docker("pull", ref, env={"DOCKER_CONFIG": docker_env["DOCKER_CONFIG"] + "-none"},
                  check=False)
    assert anon.returncode != 0
    assert re.search(r"no basic auth credentials|unauthorized|authentication required",
                     (anon.stdout + anon.stderr).lower()), anon.stdout + anon.stderr


def test_docker_pull_with_an_expired_token(wharf_factory, docker_env, tags):
    need_docker()
    # 3 s: room for `docker login` (which needs a valid token) on a busy machine
    short = h.serve(wharf_factory, ["--token-lifetime-secs", "3"])
    key = h.admin_key(short)
    short.create_repo("clients/expiring")
    h.V2(short, h.token(short, key)).push_image("clients/expiring", "v1")
    ref = f"{short.host}/clients/expiring:v1"
    tags.append(ref)
    pw = h.get_login_password(short, key).stdout.strip()
    issued = time.time()
    docker_login(short, pw, docker_env)
    time.sleep(max(0.0, issued + 4.2 - time.time()))
    out = docker("pull", ref, env=docker_env, check=False)
    assert out.returncode != 0
    assert h.EXPIRED_MESSAGE in out.stdout + out.stderr, out.stdout + out.stderr


# --------------------------------------------------------------------------- skopeo
def test_skopeo_login_and_copy(srv, tmp_path):
    need_tool("skopeo")
    user = h.new_user(srv, "skopeo-user", h.policy(
        h.allow(h.PULL_ACTIONS + h.PUSH_ACTIONS, h.repo_arn("clients/skopeo")),
        h.allow("ecr:GetAuthorizationToken")))
    srv.create_repo("clients/skopeo")
    authfile = tmp_path / "auth.json"
    pw = aws("ecr", "get-login-password", "--endpoint-url", srv.url, key=user).stdout.strip()
    out = h.run("skopeo", "login", "--tls-verify=false", "--authfile", str(authfile),
                "--username", "AWS", "--password-stdin", srv.host, input=pw + "\n")
    assert "Login Succeeded" in out.stdout, out.stdout + out.stderr

    src, dst = tmp_path / "src", tmp_path / "dst"
    im = images.make_oci_layout(src, layers=[images.make_layer({"hello.txt": uuid.uuid4().hex})])
    ref = f"docker://{srv.host}/clients/skopeo:v1"
    h.run("skopeo", "copy", "--authfile", str(authfile), "--dest-tls-verify=false",
          f"oci:{src}:latest", ref)
    raw = h.run("skopeo", "inspect", "--authfile", str(authfile), "--tls-verify=false",
                "--raw", ref).stdout.encode()
    assert raw == im.manifest
    h.run("skopeo", "copy", "--authfile", str(authfile), "--src-tls-verify=false", ref,
          f"oci:{dst}:out")
    assert (dst / "blobs" / "sha256" / im.digest.split(":")[1]).read_bytes() == im.manifest
    # the administrator sees what skopeo pushed
    got = h.V2(srv, h.token(srv, h.admin_key(srv))).get_manifest("clients/skopeo", "v1")
    assert got.status_code == 200 and got.content == im.manifest
    # and without the login, skopeo is refused
    anon = h.run("skopeo", "inspect", "--authfile", str(tmp_path / "none.json"),
                 "--tls-verify=false", "--raw", ref, check=False)
    assert anon.returncode != 0 and "unauthorized" in anon.stderr.lower(), anon.stderr


# --------------------------------------------------------------------------- assume-role
def test_assume_role_with_aws_cli_then_pull(srv, pushed, docker_env, tags):
    ref, iid, digest = pushed
    role = h.create_role(srv, "ci-puller", max_session_secs=7200)
    h.put_policy(srv, h.policy(h.allow(h.PULL_ACTIONS, h.repo_arn("clients/*")),
                               h.allow("ecr:GetAuthorizationToken")), role="ci-puller")
    user = h.new_user(srv, "ci", h.policy(h.allow("sts:AssumeRole", role)))
    out = aws("sts", "assume-role", "--endpoint-url", srv.url, "--role-arn", role,
              "--role-session-name", "pipeline-42", "--duration-seconds", "900",
              "--output", "json", key=user)
    resp = json.loads(out.stdout)
    c = resp["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert resp["AssumedRoleUser"]["Arn"] == h.assumed_role_arn("ci-puller", "pipeline-42")
    sess = h.Key(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    ident = json.loads(aws("sts", "get-caller-identity", "--endpoint-url", srv.url,
                           "--output", "json", key=sess).stdout)
    assert ident["Arn"] == h.assumed_role_arn("ci-puller", "pipeline-42")
    pw = aws("ecr", "get-login-password", "--endpoint-url", srv.url, key=sess).stdout.strip()
    docker_login(srv, pw, docker_env)
    by_digest = f"{srv.host}/clients/pushed@{digest}"
    tags.append(by_digest)
    docker("pull", by_digest, env=docker_env)
    assert image_id(by_digest) == iid
    # the session may not push (the role only pulls)
    mine = f"{srv.host}/clients/pushed:from-role"
    tags.append(mine)
    docker("tag", by_digest, mine, env=docker_env)
    push = docker("push", mine, env=docker_env, check=False)
    assert push.returncode != 0
    assert "denied" in (push.stdout + push.stderr).lower(), push.stdout + push.stderr

    # without the session token the temporary key is worthless
    bad = aws("ecr", "get-login-password", "--endpoint-url", srv.url,
              key=h.Key(sess.access_key_id, sess.secret_access_key), check=False)
    assert bad.returncode != 0 and "UnrecognizedClientException" in bad.stderr, bad.stderr
    # a user who is not allowed sts:AssumeRole is refused
    stranger = h.new_user(srv, "stranger", h.policy(h.allow("ecr:*")))
    bad = aws("sts", "assume-role", "--endpoint-url", srv.url, "--role-arn", role,
              "--role-session-name", "nope", key=stranger, check=False)
    assert bad.returncode != 0 and "AccessDenied" in bad.stderr, bad.stderr
