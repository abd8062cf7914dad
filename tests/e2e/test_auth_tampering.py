"""Tampering, replay and forgery against wharf's two ways in: SigV4 on the API (`POST /`) and
the registry token on `/v2`.

What this proves:
* a SigV4 signature binds the body, the signed headers (X-Amz-Target, Host) and a 15-minute
  window: a body or signed header altered after signing, or a request signed 16 minutes in
  the past (a replay of an old capture) or future, is refused with InvalidSignatureException
  and changes nothing; headers outside SignedHeaders may change;
* presigned URLs (botocore's `SigV4QueryAuth`) work until X-Amz-Expires and not after;
* `X-Amz-Content-SHA256`: a declared hash must be the body's; `UNSIGNED-PAYLOAD` is accepted
  (wharf's choice, see `test_unsigned_payload`);
* temporary credentials only work with their own session token;
* registry tokens cannot be forged (claims or signature changed, or signed by another
  server's master key), expire (403 DENIED with ECR's message), and die with their access
  key (disabled or deleted), their user and their role;
* with RUST_LOG=debug, neither the server logs nor the stderr of `wharf admin` /
  `wharf get-login-password` contain any secret access key, session token, registry token
  or the master key (the last test, which also greps what the earlier tests used).

Servers: one with `--cache-ttl-ms 0` (identity changes take effect at once) and one with
`--token-lifetime-secs 2`, both with RUST_LOG=debug.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import botocore.auth
import pytest
import requests

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)

DEBUG_ENV = {"RUST_LOG": "debug"}
SECRETS: set[str] = set()  # every secret the tests of this module used


def remember(*things) -> None:
    for t in things:
        if isinstance(t, h.Key):
            SECRETS.update(t.secrets)
        elif t:
            SECRETS.add(t)


@pytest.fixture(scope="module")
def t(module_factory):
    """The main server, its administrator, a repository and a user allowed ecr:*."""
    srv = h.serve(module_factory, ["--cache-ttl-ms", "0"], env=DEBUG_ENV)
    admin = h.admin_key(srv)
    repo = "tamper/target"
    srv.create_repo(repo)
    user = h.new_user(srv, "alice", h.policy(h.allow(["ecr:*", "sts:AssumeRole"])))
    role = h.create_role(srv, "builder")
    h.put_policy(srv, h.policy(h.allow("ecr:*")), role="builder")
    remember(admin, user)
    return SimpleNamespace(srv=srv, admin=admin, repo=repo, user=user, role=role,
                           admin_ecr=h.ecr(srv, admin))


@pytest.fixture(scope="module")
def short(module_factory):
    """A server whose registry tokens live 2 seconds."""
    return h.serve(module_factory, ["--token-lifetime-secs", "2"], env=DEBUG_ENV)


def assert_api_error(r: requests.Response, status: int, typ: str, message_start: str = ""):
    got = h.api_error(r)
    assert got[:2] == (status, typ), (got, r.text[:300])
    assert (got[2] or "").startswith(message_start), got


MISMATCH = "The request signature we calculated does not match the signature you provided."


def _no_policy(t) -> bool:
    try:
        t.admin_ecr.get_repository_policy(repositoryName=t.repo)
        return False
    except Exception as e:  # noqa: BLE001
        assert h.client_error(e)[1] == "RepositoryPolicyNotFoundException"
        return True


def _signed_ecr(t, op, body: dict, key=None, **kw):
    """(url, headers, data) of a signed ECR call, to be altered before sending."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": h.ECR_JSON, "X-Amz-Target": h.ECR_TARGET + op}
    url, headers = h.signed("POST", t.srv.url + "/", headers, data, key or t.user, "ecr", **kw)
    return url, headers, data


def _send(url, headers, data):
    return requests.post(url, headers=headers, data=data, timeout=h.TIMEOUT)


# --------------------------------------------------------------------------- SigV4
def test_body_altered_after_signing(t):
    text = h.policy(h.grant("999999999999", "ecr:ListImages"))
    evil = h.policy(h.grant("*", "ecr:*"))
    url, headers, data = _signed_ecr(t, "SetRepositoryPolicy",
                                     {"repositoryName": t.repo, "policyText": text})
    altered = json.dumps({"repositoryName": t.repo, "policyText": evil}).encode()
    headers["Content-Length"] = str(len(altered))
    assert_api_error(_send(url, headers, altered), 400, "InvalidSignatureException", MISMATCH)
    assert _no_policy(t)
    # the untouched request goes through: the refusal was about the body
    r = _send(url, headers | {"Content-Length": str(len(data))}, data)
    assert r.status_code == 200, r.text
    assert t.admin_ecr.get_repository_policy(repositoryName=t.repo)["policyText"] == text
    t.admin_ecr.delete_repository_policy(repositoryName=t.repo)

    # STS (query protocol): the Action lives in the body
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    url, headers = h.signed("POST", t.srv.url + "/",
                            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                            form, t.user, "sts")
    other = (b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=x&RoleArn="
             + t.role.encode())
    r = _send(url, headers | {"Content-Length": str(len(other))}, other)
    assert r.status_code == 403 and h.sts_error_code(r) == "SignatureDoesNotMatch", r.text
    r = _send(url, headers, form)
    assert r.status_code == 200 and "<Arn>arn:aws:iam::000000000000:user/alice</Arn>" in r.text


def test_signed_header_altered(t):
    t.admin_ecr.set_repository_policy(repositoryName=t.repo,
                                      policyText=h.policy(h.grant("999999999999", "ecr:*")))
    url, headers, data = _signed_ecr(t, "GetRepositoryPolicy", {"repositoryName": t.repo})
    assert "x-amz-target" in headers["Authorization"]
    # the operation selector is signed: GetRepositoryPolicy cannot become a delete
    bad = headers | {"X-Amz-Target": h.ECR_TARGET + "DeleteRepositoryPolicy"}
    assert_api_error(_send(url, bad, data), 400, "InvalidSignatureException", MISMATCH)
    assert not _no_policy(t)
    # so is the Host: the signature names the server it was made for
    bad = headers | {"Host": f"localhost:{t.srv.port}"}
    assert_api_error(_send(url, bad, data), 400, "InvalidSignatureException", MISMATCH)
    # a signed header removed: without its X-Amz-Target the call names no operation at all
    # (refused before authentication), and nothing happens
    bad = {k: v for k, v in headers.items() if k.lower() != "x-amz-target"}
    r = _send(url, bad, data)
    assert h.api_error(r)[:2] in ((400, "InvalidSignatureException"),
                                  (400, "UnknownOperationException")), r.text
    assert not _no_policy(t)
    # headers outside SignedHeaders are not bound
    r = _send(url, headers | {"X-Unsigned-Extra": "anything", "User-Agent": "changed"}, data)
    assert r.status_code == 200, r.text
    t.admin_ecr.delete_repository_policy(repositoryName=t.repo)


def test_host_must_be_signed(t):
    """A signature that does not cover the Host could be replayed against any server that
    knows the key: refused before the key is even looked up."""
    url, headers, data = _signed_ecr(t, "GetAuthorizationToken", {})
    auth = headers["Authorization"]
    m = re.search(r"SignedHeaders=([^,]+)", auth)
    without_host = ";".join(x for x in m.group(1).split(";") if x != "host")
    bad = headers | {"Authorization": auth.replace(m.group(1), without_host)}
    assert_api_error(_send(url, bad, data), 400, "IncompleteSignature",
                     "'Host' or ':authority' must be a 'SignedHeader'")


@pytest.mark.parametrize("minutes,ok,message", [
    (-16, False, "Signature expired: "),
    (16, False, "Signature not yet current: "),
    (-14, True, ""),
    (14, True, ""),
])
def test_signature_time_window(t, minutes, ok, message):
    """A request signed (or captured and replayed) 16 minutes ago is refused; the window is
    15 minutes either way, like AWS's."""
    when = h.utcnow() + datetime.timedelta(minutes=minutes)
    r = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=t.user, when=when)
    if ok:
        assert r.status_code == 200, r.text
    else:
        assert_api_error(r, 400, "InvalidSignatureException", message)
    # STS says the same in its own format
    r = h.sts_call(t.srv, {"Action": "GetCallerIdentity"}, key=t.user, when=when)
    if ok:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403 and h.sts_error_code(r) == "SignatureDoesNotMatch", r.text


def test_replay_inside_the_window_is_accepted(t):
    """SigV4 itself has no nonce: within the 15 minutes a captured request can be sent again
    (as with AWS). Documented here so that a change is noticed."""
    url, headers, data = _signed_ecr(t, "GetAuthorizationToken", {})
    assert _send(url, headers, data).status_code == 200
    assert _send(url, headers, data).status_code == 200


def test_presigned_url(t):
    # botocore's generic presigner: auth in the query string, body hash signed (empty body)
    r = h.ecr_call(t.srv, "GetAuthorizationToken", b"", key=t.user, presign_expires=60)
    assert r.status_code == 200, r.text
    assert "X-Amz-Signature=" in r.request.url and "Authorization" not in r.request.headers
    pw = base64.b64decode(r.json()["authorizationData"][0]["authorizationToken"]).decode()[4:]
    remember(pw)
    assert h.V2(t.srv, pw).req("GET", "/v2/").status_code == 200

    # S3-style presigned (UNSIGNED-PAYLOAD): valid for any body
    r = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=t.user, presign_expires=60,
                   auth_cls=_S3StyleQueryAuth)
    assert r.status_code == 200, r.text

    # expired: signed 2 minutes ago, valid for 60 seconds
    r = h.ecr_call(t.srv, "GetAuthorizationToken", b"", key=t.user, presign_expires=60,
                   when=h.utcnow() - datetime.timedelta(minutes=2))
    assert_api_error(r, 400, "InvalidSignatureException", "Request has expired")

    # a presigned URL is bound to its signed headers too
    url, headers = h.signed("POST", t.srv.url + "/", {"Content-Type": h.ECR_JSON,
                            "X-Amz-Target": h.ECR_TARGET + "GetRegistryPolicy"}, b"",
                            t.user, "ecr", presign_expires=60)
    bad = headers | {"X-Amz-Target": h.ECR_TARGET + "DeleteRegistryPolicy"}
    assert_api_error(_send(url, bad, b""), 400, "InvalidSignatureException", MISMATCH)

    # more than a week, or both a presigned query and an Authorization header: refused
    url, headers = h.signed("POST", t.srv.url + "/", {"Content-Type": h.ECR_JSON,
                            "X-Amz-Target": h.ECR_TARGET + "GetAuthorizationToken"}, b"",
                            t.user, "ecr", presign_expires=604801)
    assert_api_error(_send(url, headers, b""), 400, "IncompleteSignature")
    url, headers = h.signed("POST", t.srv.url + "/", {"Content-Type": h.ECR_JSON,
                            "X-Amz-Target": h.ECR_TARGET + "GetAuthorizationToken"}, b"",
                            t.user, "ecr", presign_expires=60)
    _, signed_headers = h.signed("POST", t.srv.url + "/", {"Content-Type": h.ECR_JSON,
                                 "X-Amz-Target": h.ECR_TARGET + "GetAuthorizationToken"}, b"",
                                 t.user, "ecr")
    both = headers | {"Authorization": signed_headers["Authorization"],
                      "X-Amz-Date": signed_headers["X-Amz-Date"]}
    assert_api_error(_send(url, both, b""), 400, "IncompleteSignature", "Only one auth mechanism")


class _S3StyleQueryAuth(botocore.auth.SigV4QueryAuth):
    """SigV4QueryAuth that signs UNSIGNED-PAYLOAD (as S3 presigned URLs do) and keeps the
    body where it is instead of moving it into the query."""

    def payload(self, request):
        return "UNSIGNED-PAYLOAD"

    def _modify_request_before_signing(self, request):
        data = request.data
        request.data = b""
        super()._modify_request_before_signing(request)
        request.data = data


def test_unsigned_payload(t):
    """`X-Amz-Content-SHA256` (a signed header) declares the payload hash: a hash that is
    not the body's is refused. `UNSIGNED-PAYLOAD` is accepted on every request (wharf's
    verifier does what S3 does; AWS's JSON/query services such as ECR and STS do not honour
    it): the body is then outside the signature. Only the signer can choose that, so an
    on-path attacker cannot downgrade a normally signed request (see the tests above)."""
    r = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=t.user, unsigned_payload=True)
    assert r.request.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-content-sha256" in r.request.headers["Authorization"]
    assert r.status_code == 200, r.text

    # the right hash declared: fine; another body's hash: refused
    data = b"{}"
    right = h.sha256(data)[7:]
    r = h.ecr_call(t.srv, "GetAuthorizationToken", data, key=t.user,
                   extra_headers={"X-Amz-Content-SHA256": right})
    assert r.status_code == 200, r.text
    wrong = h.sha256(b'{"registryIds": []}')[7:]
    r = h.ecr_call(t.srv, "GetAuthorizationToken", data, key=t.user,
                   extra_headers={"X-Amz-Content-SHA256": wrong})
    assert_api_error(r, 400, "InvalidSignatureException")


def test_session_token_of_other_credentials(t):
    a = h.assume_role(t.srv, t.user, t.role, "session-a")
    b = h.assume_role(t.srv, t.user, t.role, "session-b")
    remember(a, b)
    assert a.access_key_id.startswith("ASIA") and a.access_key_id != b.access_key_id
    ok = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=a)
    assert ok.status_code == 200, ok.text
    invalid = "The security token included in the request is invalid."
    cases = {
        "token of session b": h.Key(a.access_key_id, a.secret_access_key, b.session_token),
        "token altered": h.Key(a.access_key_id, a.secret_access_key,
                               h.flip_char(a.session_token, len(a.session_token) // 2)),
        "no token": h.Key(a.access_key_id, a.secret_access_key, None),
    }
    for what, key in cases.items():
        r = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=key)
        assert h.api_error(r) == (400, "UnrecognizedClientException", invalid), (what, r.text)
        r = h.sts_call(t.srv, {"Action": "GetCallerIdentity"}, key=key)
        assert r.status_code == 403 and h.sts_error_code(r) == "InvalidClientTokenId", \
            (what, r.text)
    # b's key id and token, signed with a's secret: the token carries b's secret
    r = h.ecr_call(t.srv, "GetAuthorizationToken", {},
                   key=h.Key(b.access_key_id, a.secret_access_key, b.session_token))
    assert_api_error(r, 400, "InvalidSignatureException", MISMATCH)


def test_long_term_key_with_a_foreign_session_token(t):
    s = h.assume_role(t.srv, t.user, t.role, "foreign")
    remember(s)
    key = h.Key(t.user.access_key_id, t.user.secret_access_key, s.session_token)
    r = h.ecr_call(t.srv, "GetAuthorizationToken", {}, key=key)
    assert h.api_error(r)[:2] == (400, "UnrecognizedClientException"), r.text


# --------------------------------------------------------------------------- /v2 tokens
def test_forged_registry_tokens(t, module_factory):
    pw = h.token(t.srv, t.user)
    remember(pw)
    v = lambda p: h.V2(t.srv, p)  # noqa: E731
    assert v(pw).req("GET", "/v2/_catalog").status_code == 200

    version, claims, tag = h.token_parts(pw)
    assert claims["principal"] == {"account": "000000000000", "kind": {"User": {"name": "alice"}}}
    forged = {
        "signature changed": h.forge_signature(pw),
        "claims: another principal": h.forge_claims(
            pw, principal={"account": "000000000000", "kind": {"User": {"name": "admin"}}}),
        "claims: longer life": h.forge_claims(pw, expires_at=claims["expires_at"] + 86400),
        "claims: other region": h.forge_claims(pw, region="eu-west-1"),
        "truncated": pw[:-5],
        "no signature": pw.rsplit(".", 1)[0],
        "other version": "2" + pw[1:],
        "empty": "",
        "garbage": "not-a-token",
    }
    for what, bad in forged.items():
        r = v(bad).req("GET", "/v2/_catalog")
        h.assert_v2_error(r, 401, "UNAUTHORIZED")
        assert what and r.json()["errors"][0]["message"] in (
            "Your authorization token is invalid.",
            "authentication required: docker login with user AWS and a token from "
            "get-login-password"), (what, r.text)

    # a token from another wharf (its own master key), for the same ARN: worthless here
    other = h.serve(module_factory, env=DEBUG_ENV)
    other_pw = h.token(other, h.admin_key(other))
    remember(other_pw, h.admin_key(other))
    assert h.token_parts(other_pw)[1]["principal"]["kind"] == {"User": {"name": "admin"}}
    assert h.V2(other, other_pw).req("GET", "/v2/").status_code == 200
    h.assert_v2_error(v(other_pw).req("GET", "/v2/"), 401, "UNAUTHORIZED",
                      "Your authorization token is invalid.")

    # the Basic envelope: user must be AWS, scheme must be Basic
    enc = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    for header in (f"Basic {enc('admin:' + pw)}", f"Basic {enc(pw)}", f"Bearer {pw}",
                   f"Basic {pw}", "Basic !!!", f"AWS4-HMAC-SHA256 {pw}"):
        r = requests.get(t.srv.url + "/v2/", headers={"Authorization": header}, timeout=10)
        h.assert_v2_error(r, 401, "UNAUTHORIZED")


def test_expired_registry_token(short):
    key = h.admin_key(short)
    remember(key)
    before = time.time()
    data = h.ecr(short, key).get_authorization_token()["authorizationData"][0]
    assert abs(data["expiresAt"].timestamp() - (before + 2)) < 2, data["expiresAt"]
    pw = base64.b64decode(data["authorizationToken"]).decode()[4:]
    remember(pw)
    short.create_repo("exp/r")
    v = h.V2(short, pw)
    digest, _, _ = v.push_image("exp/r", "v1")
    time.sleep(max(0.0, before + 3.2 - time.time()))
    for method, path in (("GET", "/v2/"), ("GET", "/v2/exp/r/manifests/v1"),
                         ("GET", "/v2/exp/r/tags/list"), ("POST", "/v2/exp/r/blobs/uploads/")):
        r = v.req(method, path, headers={"Accept": h.ACCEPT})
        h.assert_v2_error(r, 403, "DENIED", h.EXPIRED_MESSAGE)
    # a fresh token works again
    assert h.V2(short, h.token(short, key)).get_manifest("exp/r", "v1").status_code == 200


def test_token_dies_with_its_key_user_and_role(t):
    srv = t.srv
    key = h.new_user(srv, "temp", h.policy(h.allow(["ecr:*", "sts:AssumeRole"])))
    pw = h.token(srv, key)
    remember(key, pw)
    v = h.V2(srv, pw)
    assert v.req("GET", "/v2/_catalog").status_code == 200

    h.disable_key(srv, key)
    h.assert_v2_error(v.req("GET", "/v2/_catalog"), 401, "UNAUTHORIZED",
                      "Your authorization token is invalid.")
    r = h.ecr_call(srv, "GetAuthorizationToken", {}, key=key)
    assert h.api_error(r)[:2] == (400, "UnrecognizedClientException"), r.text
    h.enable_key(srv, key)
    assert v.req("GET", "/v2/_catalog").status_code == 200

    # a second key: deleting it kills its tokens, not the first key's
    key2 = h.create_key(srv, user="temp")
    pw2 = h.token(srv, key2)
    remember(key2, pw2)
    h.delete_key(srv, key2)
    h.assert_v2_error(h.V2(srv, pw2).req("GET", "/v2/"), 401, "UNAUTHORIZED")
    assert v.req("GET", "/v2/").status_code == 200

    # a role session's token dies with the role
    h.create_role(srv, "shortlived")
    h.put_policy(srv, h.policy(h.allow("ecr:*")), role="shortlived")
    sess = h.assume_role(srv, key, h.role_arn("shortlived"), "s1")
    spw = h.token(srv, sess)
    remember(sess, spw)
    assert h.V2(srv, spw).req("GET", "/v2/_catalog").status_code == 200
    h.admin(srv, "role", "delete", "shortlived")
    h.assert_v2_error(h.V2(srv, spw).req("GET", "/v2/_catalog"), 401, "UNAUTHORIZED")
    r = h.ecr_call(srv, "GetAuthorizationToken", {}, key=sess)
    assert h.api_error(r)[:2] == (400, "UnrecognizedClientException"), r.text

    # and every token of a deleted user dies
    h.delete_user(srv, "temp")
    h.assert_v2_error(v.req("GET", "/v2/_catalog"), 401, "UNAUTHORIZED",
                      "Your authorization token is invalid.")
    r = h.ecr_call(srv, "GetAuthorizationToken", {}, key=key)
    assert h.api_error(r)[:2] == (400, "UnrecognizedClientException"), r.text


def test_identity_changes_reach_a_server_within_its_cache_ttl(module_factory):
    """With the default cache TTL (1 s), a disabled key, a removed policy and a deleted user
    stop working within about a second, without a restart."""
    srv = h.serve(module_factory, env=DEBUG_ENV)
    srv.create_repo("ttl/r")
    admin_v2 = h.V2(srv, h.token(srv, h.admin_key(srv)))
    admin_v2.push_image("ttl/r", "v1")
    key = h.new_user(srv, "ttl-user", h.policy(h.allow(["ecr:*"])))
    remember(key, h.admin_key(srv))
    pw = h.token(srv, key)
    remember(pw)
    v = h.V2(srv, pw)

    def eventually(status: int, code: str):
        deadline = time.monotonic() + 3.0
        while True:
            r = v.get_manifest("ttl/r", "v1")
            if r.status_code == status or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        h.assert_v2_error(r, status, code)
        return time.monotonic()

    assert v.get_manifest("ttl/r", "v1").status_code == 200
    t0 = time.monotonic()
    h.delete_policy(srv, user="ttl-user")
    assert eventually(403, "DENIED") - t0 < 2.5
    h.put_policy(srv, h.policy(h.allow(["ecr:*"])), user="ttl-user")
    deadline = time.monotonic() + 3.0
    while v.get_manifest("ttl/r", "v1").status_code != 200:
        assert time.monotonic() < deadline, "a restored policy did not take effect"
        time.sleep(0.1)
    t0 = time.monotonic()
    h.disable_key(srv, key)
    assert eventually(401, "UNAUTHORIZED") - t0 < 2.5
    h.enable_key(srv, key)
    deadline = time.monotonic() + 3.0
    while v.get_manifest("ttl/r", "v1").status_code != 200:
        assert time.monotonic() < deadline, "a re-enabled key did not work again"
        time.sleep(0.1)
    t0 = time.monotonic()
    h.delete_user(srv, "ttl-user")
    assert eventually(401, "UNAUTHORIZED") - t0 < 2.5


# --------------------------------------------------------------------------- secrets
def test_no_secret_in_logs_or_cli_stderr(t, short, module_factory):
    """Runs last: everything above (and a few failures on purpose here) must have left no
    secret in the debug logs of both servers nor on any wharf CLI's stderr."""
    srv = t.srv
    # CLI: a key created, a password fetched, then failures that print errors
    key = h.new_user(srv, "secretive", h.policy(h.allow("ecr:*")))
    remember(key)
    out = h.get_login_password(srv, key)
    pw = out.stdout.strip()
    remember(pw)
    assert h.V2(srv, pw).req("GET", "/v2/").status_code == 200
    bad = h.get_login_password(srv, key.with_secret(key.secret_access_key[::-1]), check=False)
    assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr, bad.stderr
    remember(key.secret_access_key[::-1])
    h.disable_key(srv, key)
    gone = h.get_login_password(srv, key, check=False)
    assert gone.returncode != 0 and "UnrecognizedClientException" in gone.stderr, gone.stderr
    h.enable_key(srv, key)
    sess = h.assume_role(srv, t.user, t.role, "secret-check")
    remember(sess)
    remember(h.get_login_password(srv, sess).stdout.strip())
    # failures on the server side that could be tempted to echo what they got
    h.ecr_call(srv, "GetAuthorizationToken", {}, key=key.with_secret("W" * 40))
    h.ecr_call(srv, "GetAuthorizationToken", {}, key=h.Key(sess.access_key_id,
               sess.secret_access_key, h.flip_char(sess.session_token, 40)))
    requests.get(srv.url + "/v2/", headers=h.basic(h.forge_signature(pw)), timeout=10)
    requests.get(srv.url + "/v2/", headers={"Authorization": "Basic " + "x" * 300}, timeout=10)

    servers = module_factory.servers  # t, short, and any other server of this module
    assert srv in servers and short in servers
    for s in servers:
        remember((Path(s.data_dir) / "master.key").read_text().strip())
        remember(h.admin_key(s))
    assert len(SECRETS) > 10
    for s in servers:
        log = Path(s.log_path).read_text(errors="replace")
        assert "DEBUG" in log, "the server did not log at debug level: the grep means nothing"
        h.assert_no_secret(log, SECRETS, f"server log {s.log_path}")
    assert len(h.CLI_RUNS) > 5
    for run in h.CLI_RUNS:
        h.assert_no_secret(run.stderr, SECRETS, f"stderr of {' '.join(map(str, run.args[-6:]))}")
