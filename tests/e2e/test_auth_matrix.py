"""The access matrix: every registry (/v2) request and every implemented ECR API operation,
tried by every kind of caller, against one wharf server.

The two tables below ARE the expectations (they are parsed; each cell is one test, id
`test_v2_cell[<operation>-<caller>]` / `test_ecr_cell[<operation>-<caller>]`).

Callers (each uses its own repository `m/<caller>`, seeded with an image tagged `seed` and a
referrer of it; the four unauthenticated kinds aim at `m/allowed` so that a hole would show):

| caller                | who                                                                           |
|-----------------------|-------------------------------------------------------------------------------|
| anonymous             | no Authorization at all                                                       |
| bad_signature         | /v2: the `allowed` user's token with one character of its signature changed; API: its key id signed with a wrong secret |
| wrong_region          | /v2: the `allowed` user's token issued for eu-west-1 (also served) used on the us-east-1 registry; API: signed for ap-south-1 (not served) |
| disabled_key          | a user allowed ecr:* on its repository whose key was disabled after it got its token |
| allowed               | user whose identity policy allows ecr:* on `repository/m/allowed*` (+ GetAuthorizationToken, DescribeRepositories, the registry-policy actions on `*`) |
| no_policy             | user without any policy (its token was issued while a temporary policy allowed GetAuthorizationToken) |
| explicit_deny         | user allowed ecr:* on `*` with a Deny of ecr:* on `repository/m/explicit_deny` |
| other_account         | user of account 111111111111 allowed ecr:* on `*`; `m/other_account` has no repository policy |
| other_account_granted | user of account 222222222222 allowed ecr:* on `*`; `m/other_account_granted` has a repository policy allowing ecr:* to account 222222222222 |
| assumed_role          | session of role `pusher` (pull+push actions on `repository/m/assumed_role*` and GetAuthorizationToken), assumed by a user of the same account |

Cells of the /v2 table: `ok` = the operation's success status (200/201/202/204) and its effect
is real (written things are then visible to the administrator, deleted ones gone);
`401` = 401 UNAUTHORIZED with a `WWW-Authenticate: Basic realm=…` challenge;
`403` = 403 DENIED with AWS's message `User: <caller ARN> is not authorized to perform:
<action> on resource: <repository ARN>` (`… with an explicit deny` for explicit_deny) and no
effect. The action named for a refused request is the one in the `action` column.

Cells of the API table: `ok` = HTTP 200 and the documented output (effects checked with the
administrator's key); otherwise the `__type` (and x-amzn-ErrorType) and status:
`Missing` = 403 MissingAuthenticationToken, `BadSig` = 400 InvalidSignatureException,
`Unrecognized` = 400 UnrecognizedClientException, `Denied` = 400 AccessDeniedException.
Repository-policy operations name `registryId` 000000000000 and the caller's repository;
registry-policy operations act on the CALLER's own registry (that is how ECR defines them), so
the other accounts' users may manage their own registry policy.

Reading the tables: a valid token of anyone passes the ping (it checks only the token, as
on ECR); the catalog is ecr:DescribeRepositories on `repository/*` of the registry, which a
repository policy cannot grant (hence 403 for both other accounts) and which explicit_deny's
Deny (naming only its repository) does not cover; the assumed role has pull+push but not
ListImages, BatchDeleteImage or any policy action.

Extra tests after the cells: the either-or of a blob HEAD (push check vs pull); a mount
without read access on the source (a plain upload session instead); the region of a token
against the registry host names; upload sessions bound to their repository; dot segments and
encoded slashes in paths; refusals that do not reveal whether a repository exists; the
registry host selecting the account.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field

import pytest

import iamhelp as h
from iamhelp import module_factory  # noqa: F401  (fixture)

V2_TABLE = """
| operation          | action                        | anonymous | bad_signature | wrong_region | disabled_key | allowed | no_policy | explicit_deny | other_account | other_account_granted | assumed_role |
|--------------------|-------------------------------|-----|-----|-----|-----|----|-----|-----|-----|----|-----|
| ping               | -                             | 401 | 401 | 401 | 401 | ok | ok  | ok  | ok  | ok  | ok  |
| catalog            | ecr:DescribeRepositories      | 401 | 401 | 401 | 401 | ok | 403 | ok  | 403 | 403 | 403 |
| tags_list          | ecr:ListImages                | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | 403 |
| manifest_get       | ecr:BatchGetImage             | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| manifest_head      | ecr:BatchGetImage             | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| manifest_put       | ecr:PutImage                  | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| manifest_delete    | ecr:BatchDeleteImage          | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | 403 |
| blob_get           | ecr:GetDownloadUrlForLayer    | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| blob_head          | ecr:GetDownloadUrlForLayer    | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| blob_delete        | ecr:BatchDeleteImage          | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | 403 |
| upload_post        | ecr:InitiateLayerUpload       | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| upload_patch       | ecr:UploadLayerPart           | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| upload_put         | ecr:CompleteLayerUpload       | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| upload_get_status  | ecr:UploadLayerPart           | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| upload_cancel      | ecr:UploadLayerPart           | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| upload_monolithic  | ecr:InitiateLayerUpload       | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| mount              | ecr:InitiateLayerUpload       | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
| referrers          | ecr:BatchGetImage             | 401 | 401 | 401 | 401 | ok | 403 | 403 | 403 | ok  | ok  |
"""

ECR_TABLE = """
| operation              | anonymous | bad_signature | wrong_region | disabled_key | allowed | no_policy | explicit_deny | other_account | other_account_granted | assumed_role |
|------------------------|---------|--------|--------|--------------|----|--------|--------|--------|----|--------|
| GetAuthorizationToken  | Missing | BadSig | BadSig | Unrecognized | ok | Denied | ok     | ok     | ok | ok     |
| SetRepositoryPolicy    | Missing | BadSig | BadSig | Unrecognized | ok | Denied | Denied | Denied | ok | Denied |
| GetRepositoryPolicy    | Missing | BadSig | BadSig | Unrecognized | ok | Denied | Denied | Denied | ok | Denied |
| DeleteRepositoryPolicy | Missing | BadSig | BadSig | Unrecognized | ok | Denied | Denied | Denied | ok | Denied |
| PutRegistryPolicy      | Missing | BadSig | BadSig | Unrecognized | ok | Denied | ok     | ok     | ok | Denied |
| GetRegistryPolicy      | Missing | BadSig | BadSig | Unrecognized | ok | Denied | ok     | ok     | ok | Denied |
| DeleteRegistryPolicy   | Missing | BadSig | BadSig | Unrecognized | ok | Denied | ok     | ok     | ok | Denied |
"""

ECR_ERRORS = {
    "Missing": (403, "MissingAuthenticationToken"),
    "BadSig": (400, "InvalidSignatureException"),
    "Unrecognized": (400, "UnrecognizedClientException"),
    "Denied": (400, "AccessDeniedException"),
}


def parse_table(text: str, meta_columns: int = 1):
    """{(operation, caller): cell}, {operation: [meta…]}, callers — from a markdown table."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.strip().splitlines()]
    header, body = rows[0], [r for r in rows[2:]]
    callers = header[meta_columns:]
    cells, meta = {}, {}
    for r in body:
        assert len(r) == len(header), r
        meta[r[0]] = r[1:meta_columns]
        for caller, cell in zip(callers, r[meta_columns:]):
            cells[(r[0], caller)] = cell
    return cells, meta, callers


V2_CELLS, V2_META, CALLERS = parse_table(V2_TABLE, meta_columns=2)
ECR_CELLS, _, ECR_CALLERS = parse_table(ECR_TABLE)
assert CALLERS == ECR_CALLERS
V2_ACTION = {op: m[0] for op, m in V2_META.items()}

ACCOUNT = h.DEFAULT_ACCOUNT
OTHER = "111111111111"
GRANTED = "222222222222"
NOBODY = "999999999999"  # an account that exists nowhere: policies naming it grant nothing


@dataclass
class Caller:
    name: str
    repo: str                      # the repository its cells act on
    key: h.Key | None              # signs its API calls (None: unsigned)
    password: str | None           # its registry token (None: no Authorization)
    arn: str | None = None         # who the server should say it is
    account: str = ACCOUNT         # its own account (registry-policy operations)
    region: str = h.DEFAULT_REGION  # the region its API calls are signed for


@dataclass
class World:
    srv: object
    admin: h.V2
    admin_key: h.Key
    admin_password: str
    registry_admins: dict          # account -> Key allowed everything there
    callers: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=dict)  # repo -> (digest, body, layer digest, referrer)
    baseline_policy: dict = field(default_factory=dict)  # repo -> policy text or None
    clients: dict = field(default_factory=dict)  # account -> boto3 ECR client of its admin

    def admin_ecr(self, account: str = h.DEFAULT_ACCOUNT):
        """boto3 ECR client of a key allowed everything in `account` (made once)."""
        if account not in self.clients:
            self.clients[account] = h.ecr(self.srv, self.registry_admins[account])
        return self.clients[account]


def harmless_repo_policy(sid: str = "harmless") -> str:
    """A repository policy that grants nothing any caller here could use."""
    return h.policy(h.grant(NOBODY, "ecr:ListImages", sid=sid))


def grant_policy(account: str, sid: str = "grant") -> str:
    return h.policy(h.grant(account, "ecr:*", sid=sid))


def registry_policy_text(account: str) -> str:
    return h.policy(h.grant(f"arn:aws:iam::{NOBODY}:root", "ecr:ReplicateImage",
                            resources=f"arn:aws:ecr:us-east-1:{account}:repository/*"))


@pytest.fixture(scope="module")
def world(module_factory) -> World:
    srv = h.serve(module_factory, ["--regions", "us-east-1,eu-west-1", "--cache-ttl-ms", "0"])
    srv.put_account_setting("BLOB_MOUNTING", "ENABLED")  # the mount cells mount
    akey = h.admin_key(srv)
    admin_pw = h.token(srv, akey)
    adm = h.V2(srv, admin_pw)

    h.create_account(srv, OTHER)
    h.create_account(srv, GRANTED)
    w = World(srv, adm, akey, admin_pw, {ACCOUNT: akey,
                               OTHER: h.create_key(srv, root=True, account=OTHER),
                               GRANTED: h.create_key(srv, root=True, account=GRANTED)})

    repos = [f"m/{c}" for c in CALLERS[3:]]
    for r in repos:
        srv.create_repo(r)
        srv.create_repo(r + "-src")
        digest, body, layer = adm.push_image(r, "seed")
        subject = {"mediaType": h.OCI_MANIFEST, "digest": digest, "size": len(body)}
        ref, _, _ = adm.push_image(r, subject=subject, artifact_type="application/vnd.wharf.sig")
        w.seeds[r] = (digest, body, layer, ref)
        w.baseline_policy[r] = None

    everything_on = lambda repo: h.policy(  # noqa: E731
        h.allow("ecr:*", h.repo_arn(repo + "*")),
        h.allow(["ecr:GetAuthorizationToken", "ecr:DescribeRepositories",
                 "ecr:*RegistryPolicy"], "*"))
    allowed = h.new_user(srv, "allowed", everything_on("m/allowed"))
    allowed_pw = h.token(srv, allowed)
    disabled = h.new_user(srv, "disabled", everything_on("m/disabled_key"))
    disabled_pw = h.token(srv, disabled)
    h.disable_key(srv, disabled)

    nopol = h.new_user(srv, "nopolicy", h.policy(h.allow("ecr:GetAuthorizationToken")))
    nopol_pw = h.token(srv, nopol)
    h.delete_policy(srv, user="nopolicy")

    denied = h.new_user(srv, "denied", h.policy(h.allow("ecr:*"),
                                                h.deny("ecr:*", h.repo_arn("m/explicit_deny"))))
    other = h.new_user(srv, "reader", h.policy(h.allow("ecr:*")), account=OTHER)
    granted = h.new_user(srv, "reader", h.policy(h.allow("ecr:*")), account=GRANTED)
    for r in ("m/other_account_granted", "m/other_account_granted-src"):
        w.admin_ecr().set_repository_policy(repositoryName=r, policyText=grant_policy(GRANTED))
        w.baseline_policy[r] = grant_policy(GRANTED)

    role = h.create_role(srv, "pusher")
    h.put_policy(srv, h.policy(h.allow(h.PULL_ACTIONS + h.PUSH_ACTIONS,
                                       h.repo_arn("m/assumed_role*")),
                               h.allow("ecr:GetAuthorizationToken")), role="pusher")
    assumer = h.new_user(srv, "assumer", h.policy(h.allow("sts:AssumeRole", role)))
    role_key = h.assume_role(srv, assumer, role, "matrix")

    C = Caller
    callers = [
        C("anonymous", "m/allowed", None, None),
        C("bad_signature", "m/allowed", allowed.with_secret("x" * 40),
          h.forge_signature(allowed_pw)),
        C("wrong_region", "m/allowed", allowed, h.token(srv, allowed, "eu-west-1"),
          region="ap-south-1"),
        C("disabled_key", "m/disabled_key", disabled, disabled_pw, h.user_arn("disabled")),
        C("allowed", "m/allowed", allowed, allowed_pw, h.user_arn("allowed")),
        C("no_policy", "m/no_policy", nopol, nopol_pw, h.user_arn("nopolicy")),
        C("explicit_deny", "m/explicit_deny", denied, h.token(srv, denied), h.user_arn("denied")),
        C("other_account", "m/other_account", other, h.token(srv, other),
          h.user_arn("reader", OTHER), OTHER),
        C("other_account_granted", "m/other_account_granted", granted, h.token(srv, granted),
          h.user_arn("reader", GRANTED), GRANTED),
        C("assumed_role", "m/assumed_role", role_key, h.token(srv, role_key),
          h.assumed_role_arn("pusher", "matrix")),
    ]
    w.callers = {c.name: c for c in callers}
    assert list(w.callers) == CALLERS
    return w


# --------------------------------------------------------------------------- /v2 cells
def _fresh_blob() -> bytes:
    return f"blob {uuid.uuid4().hex}".encode()


def _octet(extra: dict | None = None) -> dict:
    return {"Content-Type": "application/octet-stream", **(extra or {})}


def v2_ping(w, c, v):
    r = v.req("GET", "/v2/")

    def check(ok):
        if ok:
            assert r.json() == {}
    return r, check


def v2_catalog(w, c, v):
    r = v.req("GET", "/v2/_catalog")

    def check(ok):
        if ok:
            assert c.repo in r.json()["repositories"], r.text
    return r, check


def v2_tags_list(w, c, v):
    r = v.req("GET", f"/v2/{c.repo}/tags/list")

    def check(ok):
        if ok:
            assert r.json()["name"] == c.repo and "seed" in r.json()["tags"], r.text
    return r, check


def _manifest_read(method):
    def op(w, c, v):
        digest, body, _, _ = w.seeds[c.repo]
        r = v.get_manifest(c.repo, "seed", method)

        def check(ok):
            if ok:
                assert r.headers["Docker-Content-Digest"] == digest
                assert r.content == (body if method == "GET" else b"")
        return r, check
    return op


def v2_manifest_put(w, c, v):
    _, _, layer, _ = w.seeds[c.repo]
    seed = w.admin.get_manifest(c.repo, "seed").json()
    seed["annotations"] = {"wharf.test/put": uuid.uuid4().hex}
    body = json.dumps(seed).encode()
    tag = "put-" + uuid.uuid4().hex[:8]
    r = v.put_manifest(c.repo, tag, body)

    def check(ok):
        got = w.admin.get_manifest(c.repo, tag)
        if ok:
            assert r.headers["Docker-Content-Digest"] == h.sha256(body)
            assert got.status_code == 200 and got.content == body
        else:
            h.assert_v2_error(got, 404, "MANIFEST_UNKNOWN")
    return r, check


def v2_manifest_delete(w, c, v):
    digest, _, _ = w.admin.push_image(c.repo)
    r = v.req("DELETE", f"/v2/{c.repo}/manifests/{digest}")

    def check(ok):
        got = w.admin.get_manifest(c.repo, digest)
        if ok:
            h.assert_v2_error(got, 404, "MANIFEST_UNKNOWN")
        else:
            assert got.status_code == 200
    return r, check


def _blob_read(method):
    def op(w, c, v):
        _, _, layer, _ = w.seeds[c.repo]
        r = v.req(method, f"/v2/{c.repo}/blobs/{layer}")

        def check(ok):
            if ok:
                assert r.headers["Docker-Content-Digest"] == layer
                if method == "GET":
                    assert h.sha256(r.content) == layer
        return r, check
    return op


def v2_blob_delete(w, c, v):
    d = w.admin.push_blob(c.repo, _fresh_blob())
    r = v.req("DELETE", f"/v2/{c.repo}/blobs/{d}")

    def check(ok):
        assert w.admin.blob_exists(c.repo, d) is (not ok)
    return r, check


def v2_upload_post(w, c, v):
    r = v.req("POST", f"/v2/{c.repo}/blobs/uploads/")

    def check(ok):
        if ok:
            status = w.admin.req("GET", v.location(r))
            assert status.status_code == 204, status.text
    return r, check


def v2_upload_patch(w, c, v):
    loc = w.admin.open_upload(c.repo)
    r = v.req("PATCH", loc, data=b"abcdef", headers=_octet({"Content-Range": "0-5"}))

    def check(ok):
        status = w.admin.req("GET", loc)
        assert status.status_code == 204
        assert status.headers["Range"] == ("0-5" if ok else "0-0")
    return r, check


def v2_upload_put(w, c, v):
    data = _fresh_blob()
    d = h.sha256(data)
    loc = w.admin.open_upload(c.repo)
    r = v.req("PUT", loc, params={"digest": d}, data=data, headers=_octet())

    def check(ok):
        assert w.admin.blob_exists(c.repo, d) is ok
    return r, check


def v2_upload_get_status(w, c, v):
    loc = w.admin.open_upload(c.repo)
    r = v.req("GET", loc)

    def check(ok):
        if ok:
            assert r.headers["Range"] == "0-0"
    return r, check


def v2_upload_cancel(w, c, v):
    loc = w.admin.open_upload(c.repo)
    r = v.req("DELETE", loc)

    def check(ok):
        status = w.admin.req("GET", loc)
        if ok:
            h.assert_v2_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
        else:
            assert status.status_code == 204
    return r, check


def v2_upload_monolithic(w, c, v):
    data = _fresh_blob()
    d = h.sha256(data)
    r = v.req("POST", f"/v2/{c.repo}/blobs/uploads/", params={"digest": d}, data=data,
              headers=_octet())

    def check(ok):
        assert w.admin.blob_exists(c.repo, d) is ok
    return r, check


def v2_mount(w, c, v):
    src = c.repo + "-src"
    d = w.admin.push_blob(src, _fresh_blob())
    r = v.req("POST", f"/v2/{c.repo}/blobs/uploads/", params={"mount": d, "from": src})

    def check(ok):
        if ok:
            assert r.headers["Docker-Content-Digest"] == d
        assert w.admin.blob_exists(c.repo, d) is ok
    return r, check


def v2_referrers(w, c, v):
    digest, _, _, ref = w.seeds[c.repo]
    r = v.req("GET", f"/v2/{c.repo}/referrers/{digest}")

    def check(ok):
        if ok:
            assert [m["digest"] for m in r.json()["manifests"]] == [ref]
    return r, check


V2_OPS = {
    "ping": (v2_ping, 200),
    "catalog": (v2_catalog, 200),
    "tags_list": (v2_tags_list, 200),
    "manifest_get": (_manifest_read("GET"), 200),
    "manifest_head": (_manifest_read("HEAD"), 200),
    "manifest_put": (v2_manifest_put, 201),
    "manifest_delete": (v2_manifest_delete, 202),
    "blob_get": (_blob_read("GET"), 200),
    "blob_head": (_blob_read("HEAD"), 200),
    "blob_delete": (v2_blob_delete, 202),
    "upload_post": (v2_upload_post, 202),
    "upload_patch": (v2_upload_patch, 202),
    "upload_put": (v2_upload_put, 201),
    "upload_get_status": (v2_upload_get_status, 204),
    "upload_cancel": (v2_upload_cancel, 204),
    "upload_monolithic": (v2_upload_monolithic, 201),
    "mount": (v2_mount, 201),
    "referrers": (v2_referrers, 200),
}
assert set(V2_OPS) == {op for op, _ in V2_CELLS}


def denied_message(c: Caller, action: str, resource: str) -> str:
    m = f"User: {c.arn} is not authorized to perform: {action} on resource: {resource}"
    return m + (" with an explicit deny" if c.name == "explicit_deny" else "")


@pytest.mark.parametrize("op,caller", list(V2_CELLS), ids=[f"{o}-{c}" for o, c in V2_CELLS])
def test_v2_cell(world, op, caller):
    expected = V2_CELLS[(op, caller)]
    c = world.callers[caller]
    fn, ok_status = V2_OPS[op]
    r, check = fn(world, c, h.V2(world.srv, c.password))
    if expected == "ok":
        assert r.status_code == ok_status, (r.status_code, r.text[:400])
        check(True)
    elif expected == "401":
        h.assert_v2_error(r, 401, "UNAUTHORIZED")
        check(False)
    elif expected == "403":
        resource = h.repo_arn("*" if op == "catalog" else c.repo)
        h.assert_v2_error(r, 403, "DENIED", denied_message(c, V2_ACTION[op], resource))
        check(False)
    else:
        raise AssertionError(f"unknown cell {expected!r}")


# --------------------------------------------------------------------------- API cells
def _repo_body(c: Caller, **extra) -> dict:
    return {"registryId": ACCOUNT, "repositoryName": c.repo, **extra}


def _admin_repo_policy(w, repo) -> str | None:
    try:
        return w.admin_ecr().get_repository_policy(repositoryName=repo)["policyText"]
    except Exception as e:  # noqa: BLE001
        assert h.client_error(e)[1] == "RepositoryPolicyNotFoundException", e
        return None


def _restore_repo_policy(w, repo):
    base = w.baseline_policy.get(repo)
    if base is None:
        try:
            w.admin_ecr().delete_repository_policy(repositoryName=repo)
        except Exception as e:  # noqa: BLE001
            assert h.client_error(e)[1] == "RepositoryPolicyNotFoundException", e
    else:
        w.admin_ecr().set_repository_policy(repositoryName=repo, policyText=base, force=True)


def _policy_for(c: Caller, sid: str) -> str:
    return grant_policy(GRANTED, sid) if c.account == GRANTED else harmless_repo_policy(sid)


def ecr_set_repository_policy(w, c):
    text = _policy_for(c, "set-by-" + c.name.replace("_", "-"))
    r = h.ecr_call(w.srv, "SetRepositoryPolicy", _repo_body(c, policyText=text), key=c.key,
                   region=c.region)

    def check(ok):
        after = _admin_repo_policy(w, c.repo)
        if ok:
            assert r.json() == {"registryId": ACCOUNT, "repositoryName": c.repo,
                                "policyText": text}
            assert after == text
        else:
            assert after == w.baseline_policy[c.repo]
    return r, check


def _with_policy(w, c) -> str:
    text = w.baseline_policy[c.repo] or harmless_repo_policy()
    w.admin_ecr().set_repository_policy(repositoryName=c.repo, policyText=text)
    return text


def ecr_get_repository_policy(w, c):
    text = _with_policy(w, c)
    r = h.ecr_call(w.srv, "GetRepositoryPolicy", _repo_body(c), key=c.key, region=c.region)

    def check(ok):
        if ok:
            assert r.json() == {"registryId": ACCOUNT, "repositoryName": c.repo,
                                "policyText": text}
    return r, check


def ecr_delete_repository_policy(w, c):
    text = _with_policy(w, c)
    r = h.ecr_call(w.srv, "DeleteRepositoryPolicy", _repo_body(c), key=c.key, region=c.region)

    def check(ok):
        after = _admin_repo_policy(w, c.repo)
        if ok:
            assert r.json()["policyText"] == text
            assert after is None
        else:
            assert after == text
    return r, check


def _registry_admin(w, c):
    return w.admin_ecr(c.account)


def _registry_policy(w, c) -> str | None:
    try:
        return _registry_admin(w, c).get_registry_policy()["policyText"]
    except Exception as e:  # noqa: BLE001
        assert h.client_error(e)[1] == "RegistryPolicyNotFoundException", e
        return None


def _drop_registry_policy(w, c):
    try:
        _registry_admin(w, c).delete_registry_policy()
    except Exception as e:  # noqa: BLE001
        assert h.client_error(e)[1] == "RegistryPolicyNotFoundException", e


def ecr_put_registry_policy(w, c):
    text = registry_policy_text(c.account)
    r = h.ecr_call(w.srv, "PutRegistryPolicy", {"policyText": text}, key=c.key, region=c.region)

    def check(ok):
        after = _registry_policy(w, c)
        if ok:
            assert r.json() == {"registryId": c.account, "policyText": text}
            assert after == text
        else:
            assert after is None
    return r, check


def ecr_get_registry_policy(w, c):
    text = registry_policy_text(c.account)
    _registry_admin(w, c).put_registry_policy(policyText=text)
    r = h.ecr_call(w.srv, "GetRegistryPolicy", {}, key=c.key, region=c.region)

    def check(ok):
        if ok:
            assert r.json() == {"registryId": c.account, "policyText": text}
    return r, check


def ecr_delete_registry_policy(w, c):
    text = registry_policy_text(c.account)
    _registry_admin(w, c).put_registry_policy(policyText=text)
    r = h.ecr_call(w.srv, "DeleteRegistryPolicy", {}, key=c.key, region=c.region)

    def check(ok):
        after = _registry_policy(w, c)
        if ok:
            assert r.json() == {"registryId": c.account, "policyText": text}
            assert after is None
        else:
            assert after == text
    return r, check


def ecr_get_authorization_token(w, c):
    r = h.ecr_call(w.srv, "GetAuthorizationToken", {}, key=c.key, region=c.region)

    def check(ok):
        if ok:
            data = r.json()["authorizationData"]
            assert len(data) == 1
            # the caller's own registry: 127.0.0.1 serves the default account's, another
            # account's is on its registry host
            if c.account == ACCOUNT:
                assert data[0]["proxyEndpoint"] == w.srv.url
            else:
                assert data[0]["proxyEndpoint"] == f"http://{c.account}.dkr.ecr.us-east-1.localhost:{w.srv.port}"
            # 12 hours; a role session's token ends with the session (1 hour by default)
            lifetime = 3600 if c.key.session_token else 12 * 3600
            assert abs(data[0]["expiresAt"] - (time.time() + lifetime)) < 120, data
            user, _, pw = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
            assert user == "AWS"
            ping = h.V2(w.srv, pw).req("GET", "/v2/")
            assert ping.status_code == 200, ping.text
    return r, check


ECR_OPS = {
    "GetAuthorizationToken": (ecr_get_authorization_token, "*"),
    "SetRepositoryPolicy": (ecr_set_repository_policy, "repo"),
    "GetRepositoryPolicy": (ecr_get_repository_policy, "repo"),
    "DeleteRepositoryPolicy": (ecr_delete_repository_policy, "repo"),
    "PutRegistryPolicy": (ecr_put_registry_policy, "*"),
    "GetRegistryPolicy": (ecr_get_registry_policy, "*"),
    "DeleteRegistryPolicy": (ecr_delete_registry_policy, "*"),
}
assert set(ECR_OPS) == {op for op, _ in ECR_CELLS}


@pytest.mark.parametrize("op,caller", list(ECR_CELLS), ids=[f"{o}-{c}" for o, c in ECR_CELLS])
def test_ecr_cell(world, op, caller):
    expected = ECR_CELLS[(op, caller)]
    c = world.callers[caller]
    fn, resource_kind = ECR_OPS[op]
    r, check = fn(world, c)
    try:
        if expected == "ok":
            assert r.status_code == 200, (r.status_code, r.text[:400])
            assert r.headers["Content-Type"] == h.ECR_JSON
            check(True)
        else:
            status, typ = ECR_ERRORS[expected]
            got = h.api_error(r)
            assert got[:2] == (status, typ), (got, r.text[:400])
            assert r.headers.get("x-amzn-ErrorType") == typ
            if expected == "Denied":
                resource = "*" if resource_kind == "*" else h.repo_arn(c.repo)
                assert got[2] == denied_message(c, f"ecr:{op}", resource), got[2]
            check(False)
    finally:
        if resource_kind == "repo":
            _restore_repo_policy(world, c.repo)
        elif op != "GetAuthorizationToken":
            _drop_registry_policy(world, c)


# --------------------------------------------------------------------------- extras
def test_blob_head_is_a_pull_or_a_push_check(world):
    """A push-only principal (ecr:BatchCheckLayerAvailability, no GetDownloadUrlForLayer)
    may HEAD a blob (docker's "layer already exists" check) but not GET it, nor read the
    manifest."""
    srv, repo = world.srv, "m/pushonly"
    srv.create_repo(repo)
    digest, _, layer = world.admin.push_image(repo, "seed")
    key = h.new_user(srv, "pushonly", h.policy(h.allow(h.PUSH_ACTIONS, h.repo_arn(repo)),
                                               h.allow("ecr:GetAuthorizationToken")))
    v = h.V2(srv, h.token(srv, key))
    assert v.req("HEAD", f"/v2/{repo}/blobs/{layer}").status_code == 200
    msg = (f"User: {h.user_arn('pushonly')} is not authorized to perform: "
           f"ecr:GetDownloadUrlForLayer on resource: {h.repo_arn(repo)}")
    h.assert_v2_error(v.req("GET", f"/v2/{repo}/blobs/{layer}"), 403, "DENIED", msg)
    h.assert_v2_error(v.get_manifest(repo, "seed"), 403, "DENIED")
    # and it can push
    d = v.push_blob(repo, _fresh_blob())
    assert world.admin.blob_exists(repo, d)


def test_mount_without_read_on_source_is_a_plain_upload(world):
    """A principal that may push to the target but not read the source gets a normal
    upload session (202), not the mount (201): the blob does not appear in the target."""
    srv = world.srv
    target, source = "m/mount-target", "m/mount-secret"
    srv.create_repo(target)
    srv.create_repo(source)
    d = world.admin.push_blob(source, _fresh_blob())
    key = h.new_user(srv, "mounter", h.policy(h.allow(h.PULL_ACTIONS + h.PUSH_ACTIONS,
                                                      h.repo_arn(target)),
                                              h.allow("ecr:GetAuthorizationToken")))
    v = h.V2(srv, h.token(srv, key))
    r = v.req("POST", f"/v2/{target}/blobs/uploads/", params={"mount": d, "from": source})
    assert r.status_code == 202, (r.status_code, r.text)
    assert "/blobs/uploads/" in r.headers["Location"]
    assert not world.admin.blob_exists(target, d)
    # the same caller with read access on the source mounts
    h.put_policy(srv, h.policy(h.allow("ecr:GetDownloadUrlForLayer", h.repo_arn(source))),
                 user="mounter", name="read-source")
    r = v.req("POST", f"/v2/{target}/blobs/uploads/", params={"mount": d, "from": source})
    assert r.status_code == 201, (r.status_code, r.text)
    assert world.admin.blob_exists(target, d)


def test_token_region_and_registry_hosts(world):
    """A token works only on the registries of the region it was issued for: the eu-west-1
    token on `000000000000.dkr.ecr.eu-west-1.localhost`, not on the us-east-1 host (nor on
    127.0.0.1, whose registry is the default one in us-east-1), and the reverse."""
    srv, c = world.srv, world.callers["allowed"]
    eu_pw = h.token(srv, c.key, "eu-west-1")
    eu_host = h.registry_host(srv, ACCOUNT, "eu-west-1")
    us_host = h.registry_host(srv, ACCOUNT, "us-east-1")
    assert h.V2(srv, eu_pw, host=eu_host).req("GET", "/v2/").status_code == 200
    h.assert_v2_error(h.V2(srv, eu_pw, host=us_host).req("GET", "/v2/"), 401, "UNAUTHORIZED")
    h.assert_v2_error(h.V2(srv, eu_pw).req("GET", "/v2/"), 401, "UNAUTHORIZED")
    assert h.V2(srv, c.password, host=us_host).req("GET", "/v2/").status_code == 200
    h.assert_v2_error(h.V2(srv, c.password, host=eu_host).req("GET", "/v2/"), 401,
                      "UNAUTHORIZED")
    # the default registry reached by its full host name is the same registry
    r = h.V2(srv, c.password, host=us_host).get_manifest("m/allowed", "seed")
    assert r.status_code == 200


def test_upload_session_is_bound_to_its_repository(world):
    """An upload session of a repository the caller may not write cannot be reached through
    a repository it may write: status, PATCH, PUT and DELETE all answer
    BLOB_UPLOAD_UNKNOWN and the session is untouched."""
    c = world.callers["allowed"]
    victim = "m/no_policy"
    loc = world.admin.open_upload(victim)
    uid = loc.rstrip("/").rsplit("/", 1)[1]
    v = h.V2(world.srv, c.password)
    via = f"/v2/{c.repo}/blobs/uploads/{uid}"
    data = _fresh_blob()
    for method, kw in (("GET", {}),
                       ("PATCH", {"data": data, "headers": _octet()}),
                       ("PUT", {"params": {"digest": h.sha256(data)}, "data": data,
                                "headers": _octet()}),
                       ("DELETE", {})):
        h.assert_v2_error(v.req(method, via, **kw), 404, "BLOB_UPLOAD_UNKNOWN")
    status = world.admin.req("GET", loc)
    assert status.status_code == 204 and status.headers["Range"] == "0-0"
    assert not world.admin.blob_exists(victim, h.sha256(data))
    assert not world.admin.blob_exists(c.repo, h.sha256(data))


@pytest.mark.parametrize("path", [
    "/v2/m/allowed/../no_policy/manifests/seed",
    "/v2/m/allowed/%2E%2E/no_policy/manifests/seed",
    "/v2/m/allowed%2F..%2Fno_policy/manifests/seed",
    "/v2/m/allowed/./../no_policy/tags/list",
    "/v2/m/allowed/../no_policy/blobs/uploads/?x=1",
])
def test_path_tricks_stay_inside_the_granted_repositories(world, path):
    """The `allowed` user's policy names `repository/m/allowed*`: dot segments and encoded
    slashes after that prefix name no other repository (sent byte for byte, no client-side
    normalisation): NAME_INVALID, never the other repository's content."""
    c = world.callers["allowed"]
    method = "POST" if "uploads" in path else "GET"
    status, headers, body = h.raw_request(world.srv, method, path, h.basic(c.password))
    assert status == 400 and b'"NAME_INVALID"' in body, (status, body[:300])


def test_a_refusal_does_not_reveal_whether_a_repository_exists(world):
    c = world.callers["no_policy"]
    v = h.V2(world.srv, c.password)
    for repo in ("m/no_policy", "m/never-created"):
        h.assert_v2_error(v.get_manifest(repo, "seed"), 403, "DENIED",
                          denied_message(c, "ecr:BatchGetImage", h.repo_arn(repo)))
        r = h.ecr_call(world.srv, "GetRepositoryPolicy", {"repositoryName": repo}, key=c.key)
        assert h.api_error(r) == (400, "AccessDeniedException", denied_message(
            c, "ecr:GetRepositoryPolicy", h.repo_arn(repo))), r.text
    # an allowed caller does learn it
    a = world.callers["allowed"]
    h.assert_v2_error(h.V2(world.srv, a.password).get_manifest("m/allowed-missing", "x"), 404,
                      "NAME_UNKNOWN")


def test_registry_host_selects_the_account(world):
    """`<account>.dkr.ecr.<region>.localhost` addresses that account's registry: the
    administrator of 000000000000 is a stranger on 111111111111's registry, and that
    account's own user is at home there (its registry has no repositories)."""
    srv = world.srv
    b_host = h.registry_host(srv, OTHER, "us-east-1")
    admin_on_b = h.V2(srv, world.admin_password, host=b_host)
    assert admin_on_b.req("GET", "/v2/").status_code == 200
    h.assert_v2_error(admin_on_b.req("GET", "/v2/_catalog"), 403, "DENIED",
                      f"User: {h.user_arn('admin')} is not authorized to perform: "
                      f"ecr:DescribeRepositories on resource: {h.repo_arn('*', OTHER)}")
    other = world.callers["other_account"]
    mine = h.V2(srv, other.password, host=b_host)
    r = mine.req("GET", "/v2/_catalog")
    assert r.status_code == 200 and r.json() == {"repositories": []}, r.text
    h.assert_v2_error(mine.get_manifest("m/other_account", "seed"), 404, "NAME_UNKNOWN")
