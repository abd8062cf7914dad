"""Helpers for the identity-and-access end-to-end tests (test_auth_*.py).

Everything here works on a `conftest.WharfServer` (its `.url`, `.port`, `.data_dir`,
`.cli()`), so the tests need nothing else from conftest.

Servers
  start(srv)                    start a server (if not running) and wait until it answers
  serve(factory, extra_args=…)  factory(start=False) + start(); use with `wharf_factory`
  module_factory                module-scoped fixture: a `_ServerFactory` for servers shared
                                by the tests of one module (stopped after the module)

Identities (the `wharf admin` CLI on the server's data dir)
  Key                           an access key (id, secret, optional session token)
  admin_key(srv)                the first-start administrator, from <data_dir>/admin-credentials
  new_user(srv, name, policy=…, account=…) -> Key   user + inline policy + access key
  create_key / put_policy / create_role / disable_key / …
  policy(stmt, …), allow(…), deny(…), grant(…)       policy documents as JSON text

Clients
  ecr(srv, key, region) / sts(srv, key, region)     boto3 clients (no retries)
  token(srv, key, region) -> password               GetAuthorizationToken through boto3
  basic(password) -> headers                        `Authorization: Basic base64(AWS:pw)`
  assume_role(srv, key, role_arn, name) -> Key      STS AssumeRole through boto3
  signed(...) -> (url, headers)                     botocore SigV4 (header or query auth)
                                                    with an optional fake clock
  ecr_call(srv, op, body, key=…) -> Response        a raw ECR JSON call, signed or not
  V2                                                a tiny /v2 client with a fixed token

Checks
  api_error(resp) -> (status, __type, message)
  assert_v2_error(resp, status, code)
  assert_no_secret(text, secrets, where)
"""

from __future__ import annotations

import base64
import configparser
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import boto3
import botocore.auth
import botocore.credentials
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.config import Config

import conftest

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."
ECR_JSON = "application/x-amz-json-1.1"
EXPIRED_MESSAGE = "Your authorization token has expired. Reauthenticate and try again."
TIMEOUT = 30

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
ACCEPT = ", ".join([OCI_MANIFEST, "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])

# Test servers listen on 127.0.0.1: never through a proxy.
os.environ["NO_PROXY"] = ",".join(filter(None, ["127.0.0.1,localhost", os.environ.get("NO_PROXY")]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]


# --------------------------------------------------------------------------- servers
def start(srv: conftest.WharfServer, timeout: float = conftest.READY_TIMEOUT) -> conftest.WharfServer:
    """Start `srv` (if it is not running) and wait until it answers."""
    return srv if srv.running else srv.start(timeout)


def restart(srv: conftest.WharfServer) -> conftest.WharfServer:
    srv.stop()
    return start(srv)


def serve(factory, extra_args=(), env: dict | None = None, **kw) -> conftest.WharfServer:
    """A new server from `factory` (`wharf_factory` or `module_factory`), started."""
    srv = factory(extra_args=list(extra_args), env=env, start=False, **kw)
    return start(srv)


@pytest.fixture(scope="module")
def module_factory(_wharf_tmp):
    """Like `wharf_factory`, but the servers live as long as the test module."""
    f = conftest._ServerFactory(_wharf_tmp)
    yield f
    f.close()


# --------------------------------------------------------------------------- identities
@dataclass(frozen=True)
class Key:
    """An AWS access key; `session_token` for temporary (ASIA…) credentials."""
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def credentials(self) -> botocore.credentials.Credentials:
        return botocore.credentials.Credentials(self.access_key_id, self.secret_access_key,
                                                self.session_token)

    def env(self, region: str = DEFAULT_REGION) -> dict:
        """Environment for the AWS CLI / `wharf get-login-password` (no config files, no
        instance metadata lookups)."""
        e = {"AWS_ACCESS_KEY_ID": self.access_key_id,
             "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
             "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
             "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""}
        if self.session_token:
            e["AWS_SESSION_TOKEN"] = self.session_token
        return e

    def with_secret(self, secret: str) -> "Key":
        return Key(self.access_key_id, secret, self.session_token)

    @property
    def secrets(self) -> list[str]:
        """What must never be logged."""
        return [s for s in (self.secret_access_key, self.session_token) if s]


def parse_credentials(text: str, profile: str = "default") -> Key:
    """A Key from AWS credentials-file text (what `admin access-key create` prints)."""
    cp = configparser.ConfigParser()
    cp.read_string(text)
    sec = cp[profile]
    return Key(sec["aws_access_key_id"].strip(), sec["aws_secret_access_key"].strip(),
               sec.get("aws_session_token"))


def admin_key(srv: conftest.WharfServer) -> Key:
    """The administrator key the first start wrote to <data_dir>/admin-credentials."""
    return parse_credentials((Path(srv.data_dir) / "admin-credentials").read_text())


# Every `wharf` CLI run made through this module, for the tests that check that no secret
# reaches a stderr (stdout legitimately carries created keys and passwords).
CLI_RUNS: list[subprocess.CompletedProcess] = []


def cli(srv: conftest.WharfServer, *args, check: bool = True, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    """`wharf <global opts> *args` on the server's data dir, recorded in CLI_RUNS."""
    r = srv.cli(*args, check=check, env=env)
    CLI_RUNS.append(r)
    return r


def admin(srv: conftest.WharfServer, *args, check: bool = True) -> subprocess.CompletedProcess:
    """`wharf admin *args` on the server's data dir."""
    return cli(srv, "admin", *args, check=check)


def get_login_password(srv: conftest.WharfServer, key: Key, region: str = DEFAULT_REGION,
                       check: bool = True) -> subprocess.CompletedProcess:
    """`wharf get-login-password --endpoint-url <srv>` with `key` in the environment."""
    return cli(srv, "get-login-password", "--endpoint-url", srv.url, "--region", region,
               check=check, env=key.env(region))


def _account(account: str | None) -> list[str]:
    return ["--account", account] if account else []


def create_account(srv, account: str) -> None:
    admin(srv, "account", "create", account)


def create_user(srv, name: str, account: str | None = None) -> str:
    """Creates a user; returns its ARN (as printed)."""
    return admin(srv, "user", "create", name, *_account(account)).stdout.strip()


def create_key(srv, user: str | None = None, root: bool = False,
               account: str | None = None) -> Key:
    owner = ["--root"] if root else ["--user", user]
    out = admin(srv, "access-key", "create", *owner, *_account(account)).stdout
    return parse_credentials(out)


def put_policy(srv, document: str, user: str | None = None, role: str | None = None,
               name: str = "inline", account: str | None = None) -> None:
    who = ["--user", user] if user else ["--role", role]
    admin(srv, "policy", "put", *who, "--name", name, "--document", document, *_account(account))


def delete_policy(srv, user: str | None = None, role: str | None = None,
                  name: str = "inline", account: str | None = None) -> None:
    who = ["--user", user] if user else ["--role", role]
    admin(srv, "policy", "delete", *who, "--name", name, *_account(account))


def create_role(srv, name: str, trust: str | None = None, max_session_secs: int | None = None,
                account: str | None = None) -> str:
    args = ["role", "create", name]
    if trust is not None:
        args += ["--trust-policy", trust]
    if max_session_secs is not None:
        args += ["--max-session-secs", str(max_session_secs)]
    return admin(srv, *args, *_account(account)).stdout.strip()


def disable_key(srv, key: Key) -> None:
    admin(srv, "access-key", "disable", key.access_key_id)


def enable_key(srv, key: Key) -> None:
    admin(srv, "access-key", "enable", key.access_key_id)


def delete_key(srv, key: Key) -> None:
    admin(srv, "access-key", "delete", key.access_key_id)


def delete_user(srv, name: str, account: str | None = None) -> None:
    admin(srv, "user", "delete", name, *_account(account))


def new_user(srv, name: str, policy: str | None = None, account: str | None = None) -> Key:
    """A user with an optional inline policy and one access key."""
    create_user(srv, name, account)
    if policy is not None:
        put_policy(srv, policy, user=name, account=account)
    return create_key(srv, user=name, account=account)


def user_arn(name: str, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def role_arn(name: str, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def assumed_role_arn(role: str, session: str, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def repo_arn(name: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


# --------------------------------------------------------------------------- policies
def _listify(x):
    return [x] if isinstance(x, str) else list(x)


def statement(effect: str, actions, resources=None, principal=None, condition=None,
              sid: str | None = None) -> dict:
    s: dict = {"Effect": effect, "Action": _listify(actions)}
    if sid:
        s = {"Sid": sid, **s}
    if principal is not None:
        s["Principal"] = principal
    if resources is not None:
        s["Resource"] = _listify(resources)
    if condition is not None:
        s["Condition"] = condition
    return s


def allow(actions, resources="*", **kw) -> dict:
    return statement("Allow", actions, resources, **kw)


def deny(actions, resources="*", **kw) -> dict:
    return statement("Deny", actions, resources, **kw)


def grant(principal_aws, actions, effect: str = "Allow", **kw) -> dict:
    """A resource-policy statement for `Principal: {"AWS": principal_aws}`."""
    return statement(effect, actions, principal={"AWS": principal_aws}, **kw)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability"]
PUSH_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]


# --------------------------------------------------------------------------- boto3
_BOTO_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


def session(key: Key, region: str = DEFAULT_REGION) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id=key.access_key_id,
                                 aws_secret_access_key=key.secret_access_key,
                                 aws_session_token=key.session_token, region_name=region)


def ecr(srv, key: Key, region: str = DEFAULT_REGION):
    """A boto3 ECR client for `srv` (no retries)."""
    return session(key, region).client("ecr", endpoint_url=srv.url, config=_BOTO_CONFIG)


def sts(srv, key: Key, region: str = DEFAULT_REGION):
    return session(key, region).client("sts", endpoint_url=srv.url, config=_BOTO_CONFIG)


def token(srv, key: Key, region: str = DEFAULT_REGION) -> str:
    """The registry password (`get-login-password`) for `key`, via GetAuthorizationToken."""
    data = ecr(srv, key, region).get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS", data
    return password


def basic(password: str | None) -> dict:
    """The Authorization header of a registry request; {} for None (anonymous)."""
    if password is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()}


def assume_role(srv, key: Key, arn: str, session_name: str, duration: int | None = None,
                region: str = DEFAULT_REGION) -> Key:
    kw = {"DurationSeconds": duration} if duration else {}
    c = sts(srv, key, region).assume_role(RoleArn=arn, RoleSessionName=session_name, **kw)
    cr = c["Credentials"]
    return Key(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])


def client_error(excinfo_or_exc) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a botocore ClientError."""
    e = getattr(excinfo_or_exc, "value", excinfo_or_exc)
    return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
            e.response["Error"].get("Message", ""))


# --------------------------------------------------------------------------- raw SigV4
def signed(method: str, url: str, headers: dict, body: bytes, key: Key, service: str,
           region: str = DEFAULT_REGION, when: datetime.datetime | None = None,
           presign_expires: int | None = None, unsigned_payload: bool = False,
           auth_cls=None) -> tuple[str, dict]:
    """Sign a request with botocore's own SigV4 code; returns (url, headers) to send.

    `when` replaces botocore's clock (a naive UTC datetime), e.g. 16 minutes in the past.
    `presign_expires` makes a presigned URL (`SigV4QueryAuth`, the auth in the query string)
    instead of an Authorization header. `unsigned_payload` signs `UNSIGNED-PAYLOAD` (with the
    X-Amz-Content-SHA256 header that declares it) instead of the body's hash."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    if unsigned_payload:
        # botocore takes a declared X-Amz-Content-SHA256 as the payload hash (and signs the
        # header), as it does itself when payload signing is off.
        req.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    creds = key.credentials()
    auth_cls = auth_cls or (botocore.auth.SigV4QueryAuth if presign_expires is not None
                            else botocore.auth.SigV4Auth)
    extra = {"expires": presign_expires} if presign_expires is not None else {}
    auth = auth_cls(creds, service, region, **extra)
    req.headers["Host"] = url.split("/")[2]
    if when is None:
        auth.add_auth(req)
    else:
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
            auth.add_auth(req)
    out_url = req.url
    return out_url, dict(req.headers.items())


def utcnow() -> datetime.datetime:
    """Naive UTC now, the form botocore's clock returns."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def ecr_call(srv, op: str, body: dict | bytes | None = None, key: Key | None = None,
             region: str = DEFAULT_REGION, service: str = "ecr", extra_headers: dict | None = None,
             **sign_kw) -> requests.Response:
    """`POST /` with `X-Amz-Target: …<op>`: unsigned when `key` is None, else signed by
    botocore's SigV4 (see `signed` for the options)."""
    data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    headers = {"Content-Type": ECR_JSON, "X-Amz-Target": ECR_TARGET + op}
    headers.update(extra_headers or {})
    url = srv.url + "/"
    if key is not None:
        url, headers = signed("POST", url, headers, data, key, service, region, **sign_kw)
    return requests.post(url, data=data, headers=headers, timeout=TIMEOUT)


def sts_call(srv, params: dict, key: Key | None = None, region: str = DEFAULT_REGION,
             **sign_kw) -> requests.Response:
    """An STS query-protocol call (form body)."""
    from urllib.parse import urlencode
    data = urlencode({"Version": "2011-06-15", **params}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    url = srv.url + "/"
    if key is not None:
        url, headers = signed("POST", url, headers, data, key, "sts", region, **sign_kw)
    return requests.post(url, data=data, headers=headers, timeout=TIMEOUT)


def sts_error_code(resp: requests.Response) -> str | None:
    m = re.search(r"<Code>([^<]*)</Code>", resp.text)
    return m.group(1) if m else None


def api_error(resp: requests.Response) -> tuple[int, str | None, str | None]:
    """(status, __type, message) of an ECR JSON error; checks that x-amzn-ErrorType agrees."""
    try:
        body = resp.json()
    except ValueError:
        return resp.status_code, None, None
    t = body.get("__type")
    header = resp.headers.get("x-amzn-ErrorType")
    assert header is None or header.split(":")[0] == t, (header, body)
    return resp.status_code, t, body.get("message")


# --------------------------------------------------------------------------- /v2
def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_codes(resp: requests.Response) -> list[str]:
    try:
        return [e.get("code") for e in resp.json().get("errors", [])]
    except (ValueError, AttributeError):
        return []


def assert_v2_error(resp: requests.Response, status: int, code: str | None,
                    message: str | None = None) -> None:
    """Exact status; for non-HEAD requests the distribution error code (and message)."""
    what = f"{resp.request.method} {resp.request.url}"
    assert resp.status_code == status, f"{what}: expected {status}, got {resp.status_code} " \
                                       f"{resp.text[:400]!r}"
    if status == 401:
        chal = resp.headers.get("WWW-Authenticate", "")
        assert chal.startswith("Basic realm="), f"{what}: challenge {chal!r}"
    if resp.request.method == "HEAD" or code is None:
        return
    assert code in error_codes(resp), f"{what}: expected {code}, got {resp.text[:400]!r}"
    if message is not None:
        msgs = [e.get("message") for e in resp.json()["errors"]]
        assert message in msgs, f"{what}: expected message {message!r}, got {msgs!r}"


class V2:
    """A small distribution-API client that sends one fixed registry password (or none)
    and, optionally, a Host header (`<account>.dkr.ecr.<region>.localhost:PORT`)."""

    def __init__(self, srv, password: str | None = None, host: str | None = None):
        self.srv = srv
        self.base = srv.url
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.headers.update(basic(password))
        if host:
            self.s.headers["Host"] = host

    def req(self, method: str, path_or_url: str, **kw) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        return self.s.request(method, url, **kw)

    def location(self, resp: requests.Response) -> str:
        loc = resp.headers.get("Location")
        assert loc, f"no Location on {resp.request.method} {resp.request.url}: {resp.status_code}"
        return loc if loc.startswith("http") else self.base + loc

    # blobs
    def open_upload(self, repo: str) -> str:
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        assert r.status_code == 202, (r.status_code, r.text)
        return self.location(r)

    def push_blob(self, repo: str, data: bytes) -> str:
        d = sha256(data)
        r = self.req("POST", f"/v2/{repo}/blobs/uploads/", params={"digest": d}, data=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, (r.status_code, r.text)
        return d

    def blob_exists(self, repo: str, digest: str) -> bool:
        r = self.req("HEAD", f"/v2/{repo}/blobs/{digest}")
        assert r.status_code in (200, 404), (r.status_code, r.text)
        return r.status_code == 200

    # manifests
    def put_manifest(self, repo: str, ref: str, body: bytes, mt: str = OCI_MANIFEST):
        return self.req("PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                        headers={"Content-Type": mt})

    def get_manifest(self, repo: str, ref: str, method: str = "GET"):
        return self.req(method, f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})

    def push_image(self, repo: str, tag: str | None = None, label: str | None = None,
                   subject: dict | None = None, artifact_type: str | None = None):
        """Push config + one layer + manifest; returns (digest, manifest bytes, layer digest)."""
        label = label or uuid.uuid4().hex
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Labels": {"t": label}},
                          "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        layer = gzip.compress(label.encode(), mtime=0)
        cd, ld = self.push_blob(repo, cfg), self.push_blob(repo, layer)
        body = image_manifest(cd, len(cfg), ld, len(layer), subject=subject,
                              artifact_type=artifact_type, label=label)
        r = self.put_manifest(repo, tag or sha256(body), body)
        assert r.status_code == 201, (r.status_code, r.text)
        return sha256(body), body, ld


def image_manifest(config_digest: str, config_size: int, layer_digest: str, layer_size: int,
                   subject: dict | None = None, artifact_type: str | None = None,
                   label: str | None = None) -> bytes:
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
         "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer_size}]}
    if artifact_type:
        m["artifactType"] = artifact_type
    if subject:
        m["subject"] = subject
    if label:
        m["annotations"] = {"wharf.test/label": label}
    return json.dumps(m, indent=2).encode()


def raw_request(srv, method: str, path: str, headers: dict | None = None,
                body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send `path` exactly as given (no client-side dot-segment or escape normalisation);
    returns (status, lower-cased headers, body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def registry_host(srv, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> str:
    """The registry host name of (account, region) on `srv` (default domain `localhost`)."""
    return f"{account}.dkr.ecr.{region}.localhost:{srv.port}"


# --------------------------------------------------------------------------- tokens
def _b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _b64url_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token_parts(password: str) -> tuple[str, dict, str]:
    """("1", claims, tag) of a wharf registry token `1.<b64url(json)>.<b64url(hmac)>`."""
    version, payload, tag = password.split(".")
    return version, json.loads(_b64url_decode(payload)), tag


def flip_char(s: str, index: int) -> str:
    """`s` with the character at `index` replaced by another base64url character."""
    c = s[index]
    repl = "A" if c != "A" else "B"
    return s[:index] + repl + s[index + 1:]


def forge_signature(password: str) -> str:
    """The token with one character of its signature changed (not the last one, whose
    low bits base64 ignores)."""
    version, payload, tag = password.split(".")
    return f"{version}.{payload}.{flip_char(tag, len(tag) // 2)}"


def forge_claims(password: str, **changes) -> str:
    """The token with its claims changed (signature kept), e.g. another principal."""
    version, claims, tag = token_parts(password)
    claims.update(changes)
    payload = _b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{version}.{payload}.{tag}"


# --------------------------------------------------------------------------- tools
# AWS settings of the caller's shell that would beat the credentials a test hands a tool.
_STRAY_AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR",
              "AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def run(*cmd: str, env: dict | None = None, input: str | None = None, check: bool = True,
        timeout: int = 180) -> subprocess.CompletedProcess:
    """Run a client tool with extra environment (the caller's own AWS credentials, profile
    and endpoint settings removed); with `check`, a failure shows its output."""
    full_env = {k: v for k, v in os.environ.items() if k not in _STRAY_AWS}
    full_env.update(env or {})
    p = subprocess.run(list(cmd), capture_output=True, text=True, env=full_env, input=input,
                       timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


def tiny_rootfs_tar(path: Path, marker: str) -> Path:
    """A one-file root filesystem tar for `docker import` (it is never run)."""
    data = f"wharf auth test {marker}\n".encode()
    with tarfile.open(path, "w") as tf:
        ti = tarfile.TarInfo("wharf-marker")
        ti.size, ti.mtime, ti.mode = len(data), 1_700_000_000, 0o644
        tf.addfile(ti, io.BytesIO(data))
    return path


# --------------------------------------------------------------------------- secrets
def assert_no_secret(text: str, secrets, where: str) -> None:
    """None of `secrets` (strings; tokens also in their base64 `AWS:` form) occurs in `text`."""
    for s in secrets:
        if not s:
            continue
        forms = {s, base64.b64encode(f"AWS:{s}".encode()).decode()}
        for f in forms:
            assert f not in text, f"a secret ({s[:6]}…, {len(s)} chars) appears in {where}"
