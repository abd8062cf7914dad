"""The ECR layer API against a real server: BatchCheckLayerAvailability, InitiateLayerUpload,
UploadLayerPart, CompleteLayerUpload and GetDownloadUrlForLayer, through boto3 (and raw
signed calls where boto3's own checks would stop the input first).

One domain, two doors: a layer uploaded through the API is a blob `/v2` serves (and skopeo
pulls as part of an image), a blob pushed through `/v2` is available through the API, and an
upload id is a `/v2` session id. The download URL needs no credentials, serves ranges, and
refuses tampered or expired tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

import iamhelp as h
import images
from conftest import need_tool, run_tool
from iamhelp import module_factory  # noqa: F401  (fixture)
from ocihelp import Client, assert_error, fake_digest, sha256

ACCOUNT = h.DEFAULT_ACCOUNT
PART_SIZE = 10 * 1024 * 1024
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    # Debug logging, to check that no download token reaches the log.
    return h.serve(module_factory, extra_args=["--cache-ttl-ms", "0"], env={"RUST_LOG": "debug"})


@pytest.fixture(scope="module")
def admin(srv):
    return h.admin_key(srv)


@pytest.fixture(scope="module")
def ecr(srv, admin):
    return h.ecr(srv, admin)


@pytest.fixture
def repo(ecr):
    name = f"layers/{uuid.uuid4().hex[:10]}"
    ecr.create_repository(repositoryName=name)
    return name


def error(excinfo) -> tuple[str, str]:
    _, code, message = h.client_error(excinfo)
    return code, message


def raw(srv, admin, op: str, body: dict) -> tuple[int, dict]:
    r = h.ecr_call(srv, op, body, key=admin)
    return r.status_code, r.json()


def upload_in_parts(ecr, repo: str, data: bytes, part: int) -> str:
    """Initiate, upload `data` in parts of `part` bytes, complete; the layer digest."""
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    for first in range(0, len(data), part):
        chunk = data[first:first + part]
        out = ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=first,
                                    partLastByte=first + len(chunk) - 1, layerPartBlob=chunk)
        assert out["lastByteReceived"] == first + len(chunk) - 1
        assert (out["uploadId"], out["repositoryName"], out["registryId"]) == (upload_id, repo, ACCOUNT)
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[sha256(data)])
    assert done == {**done, "uploadId": upload_id, "repositoryName": repo, "registryId": ACCOUNT}
    return done["layerDigest"]


def availability(ecr, repo: str, *digests: str) -> dict:
    out = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=list(digests))
    return {"layers": out["layers"], "failures": out["failures"]}


def part(ecr, repo: str, upload_id: str, first: int, data: bytes):
    return ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=first,
                                 partLastByte=first + len(data) - 1, layerPartBlob=data)


# --------------------------------------------------------------------------- one domain
def test_a_layer_uploaded_in_parts_is_a_blob_on_v2(srv, ecr, repo):
    init = ecr.initiate_layer_upload(repositoryName=repo)
    assert init["partSize"] == PART_SIZE
    assert len(init["uploadId"]) == 36
    data = os.urandom(3 * 1024 * 1024 + 123)
    digest = upload_in_parts(ecr, repo, data, 1024 * 1024)
    assert digest == sha256(data)
    r = Client(srv).get_blob(repo, digest)
    assert r.status_code == 200
    assert r.headers["Docker-Content-Digest"] == digest
    assert hashlib.sha256(r.content).hexdigest() == digest.split(":")[1]
    assert availability(ecr, repo, digest) == {
        "layers": [{"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": len(data)}],
        "failures": []}


def test_an_upload_id_is_a_v2_session(srv, ecr, repo):
    """Started through the API, continued through /v2, finished through the API."""
    data = os.urandom(5000)
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    c = Client(srv)
    r = c.patch_chunk(f"/v2/{repo}/blobs/uploads/{upload_id}", data[:2000], 0)
    assert r.status_code == 202, r.text
    assert part(ecr, repo, upload_id, 2000, data[2000:])["lastByteReceived"] == 4999
    ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[sha256(data)])
    assert c.get_blob(repo, sha256(data)).content == data


def test_a_v2_blob_is_available_and_downloadable_without_credentials(srv, ecr, repo):
    data = os.urandom(100_000)
    digest = Client(srv).push_blob(repo, data)
    assert availability(ecr, repo, digest)["layers"] == [
        {"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": len(data)}]
    out = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)
    assert out["layerDigest"] == digest
    url = out["downloadUrl"]
    assert url.startswith(f"{srv.url}/presigned/blobs/"), url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["Docker-Content-Digest"] == digest
    assert r.headers["Cache-Control"] == "private"
    r = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert r.content == data[1000:2000]
    r = requests.head(url, timeout=30)
    assert (r.status_code, r.headers["Content-Length"], r.content) == (200, str(len(data)), b"")


def test_a_layer_uploaded_through_the_api_is_part_of_a_pullable_image(srv, ecr, repo, tmp_path):
    need_tool("skopeo")
    image = images.build_image(marker=uuid.uuid4().hex)
    for blob in image.blobs():
        assert upload_in_parts(ecr, repo, blob.data, 64 * 1024) == blob.digest
    assert Client(srv).push_manifest(repo, "v1", image.manifest, image.media_type) == image.digest
    layout = tmp_path / "layout"
    run_tool("skopeo", "copy", "--src-tls-verify=false", "--src-creds", f"AWS:{srv.token()}",
             f"docker://{srv.host}/{repo}:v1", f"oci:{layout}:v1")
    index = json.loads((layout / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [image.digest]
    for blob in image.blobs():
        stored = (layout / "blobs" / "sha256" / blob.digest.split(":")[1]).read_bytes()
        assert stored == blob.data


# --------------------------------------------------------------------------- download URLs
def presign_key(srv) -> bytes:
    """The server's download-URL key: HKDF-SHA256 of the master key (empty salt), info
    "wharf presigned download v1", as crates/iam derives it."""
    master = bytes.fromhex((Path(srv.data_dir) / "master.key").read_text().strip())
    prk = hmac.new(b"", master, hashlib.sha256).digest()
    return hmac.new(prk, b"wharf presigned download v1\x01", hashlib.sha256).digest()


def forge_url(srv, repo: str, digest: str, expires_at: int) -> str:
    claims = {"account": ACCOUNT, "region": h.DEFAULT_REGION, "repository": repo, "digest": digest,
              "expires_at": expires_at}
    signed = "1." + h._b64url_encode(json.dumps(claims).encode())
    tag = hmac.new(presign_key(srv), signed.encode(), hashlib.sha256).digest()
    return f"{srv.url}/presigned/blobs/{signed}.{h._b64url_encode(tag)}"


def test_tampered_expired_or_stale_urls_are_refused(srv, ecr, repo):
    data = os.urandom(2048)
    digest = Client(srv).push_blob(repo, data)
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
    base, token = url.rsplit("/", 1)
    version, payload, tag = token.split(".")
    for bad in [f"{version}.{payload}.{h.flip_char(tag, 5)}", f"{version}.{h.flip_char(payload, 20)}.{tag}",
                token[:-3], "garbage"]:
        r = requests.get(f"{base}/{bad}", timeout=30)
        assert_error(r, 403, "DENIED")
        assert "not valid" in r.json()["errors"][0]["message"]
    # Signed with the server's key, as the server would have: good until it expires.
    assert requests.get(forge_url(srv, repo, digest, int(time.time()) + 60), timeout=30).content == data
    r = requests.get(forge_url(srv, repo, digest, int(time.time()) - 1), timeout=30)
    assert_error(r, 403, "DENIED")
    assert "expired" in r.json()["errors"][0]["message"]
    # Another repository's blob needs another token.
    other = forge_url(srv, f"{repo}-other", digest, int(time.time()) + 60)
    assert_error(requests.get(other.rsplit(".", 1)[0] + "." + tag, timeout=30), 403, "DENIED")
    # A blob no longer in the repository.
    assert Client(srv).delete(f"/v2/{repo}/blobs/{digest}").status_code == 202
    assert_error(requests.get(url, timeout=30), 404, "BLOB_UNKNOWN")


def test_no_download_token_reaches_the_log(srv, ecr, repo):
    digest = Client(srv).push_blob(repo, os.urandom(100))
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
    assert requests.get(url, timeout=30).status_code == 200
    token = url.rsplit("/", 1)[1]
    log = Path(srv.log_path).read_text(errors="replace")
    assert "/presigned/blobs/<token>" in log, "the debug log names the request"
    assert token.split(".")[2] not in log and token.split(".")[1] not in log


def test_download_url_errors(srv, ecr, admin, repo):
    with pytest.raises(ClientError) as e:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=fake_digest())
    code, message = error(e)
    assert code == "LayersNotFoundException"
    assert f"does not exist in the repository with name '{repo}'" in message
    with pytest.raises(ClientError) as e:
        ecr.get_download_url_for_layer(repositoryName="layers/none", layerDigest=fake_digest())
    assert error(e)[0] == "RepositoryNotFoundException"
    status, body = raw(srv, admin, "GetDownloadUrlForLayer", {"repositoryName": repo, "layerDigest": "sha256:xyz"})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "layerDigest" in body["message"]


# --------------------------------------------------------------------------- availability
def test_batch_check_reports_failures_per_item(srv, ecr, admin, repo):
    present = Client(srv).push_blob(repo, b"present")
    absent = fake_digest()
    status, body = raw(srv, admin, "BatchCheckLayerAvailability",
                       {"repositoryName": repo, "layerDigests": [present, "", "sha256:xyz", "md5:abc", absent]})
    assert status == 200
    assert body["layers"] == [
        {"layerDigest": present, "layerAvailability": "AVAILABLE", "layerSize": 7},
        {"layerDigest": absent, "layerAvailability": "UNAVAILABLE"}]
    assert [(f["layerDigest"], f["failureCode"]) for f in body["failures"]] == [
        ("", "MissingLayerDigest"), ("sha256:xyz", "InvalidLayerDigest"), ("md5:abc", "InvalidLayerDigest")]
    assert all(f["failureReason"] for f in body["failures"])


@pytest.mark.parametrize("digests", [[], [fake_digest() for _ in range(101)]])
def test_batch_check_takes_1_to_100_digests(srv, admin, repo, digests):
    status, body = raw(srv, admin, "BatchCheckLayerAvailability", {"repositoryName": repo, "layerDigests": digests})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "'layerDigests'" in body["message"] and "between 1 and 100" in body["message"]


def test_batch_check_in_a_missing_repository(ecr):
    with pytest.raises(ClientError) as e:
        ecr.batch_check_layer_availability(repositoryName="layers/none", layerDigests=[fake_digest()])
    assert error(e)[0] == "RepositoryNotFoundException"


# --------------------------------------------------------------------------- upload errors
def test_parts_must_be_contiguous(srv, ecr, admin, repo):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    body = {"repositoryName": repo, "uploadId": upload_id, "partFirstByte": 5, "partLastByte": 9,
            "layerPartBlob": base64.b64encode(b"x" * 5).decode()}
    status, out = raw(srv, admin, "UploadLayerPart", body)
    assert (status, out["__type"]) == (400, "InvalidLayerPartException")
    # Nothing received yet: the next part starts at lastValidByteReceived + 1 = 0.
    assert out == {**out, "registryId": ACCOUNT, "repositoryName": repo, "uploadId": upload_id,
                   "lastValidByteReceived": -1}
    assert part(ecr, repo, upload_id, 0, b"0123456789")["lastByteReceived"] == 9
    for first, last in [(20, 24), (5, 9)]:
        status, out = raw(srv, admin, "UploadLayerPart", {**body, "partFirstByte": first, "partLastByte": last})
        assert (out["__type"], out["lastValidByteReceived"]) == ("InvalidLayerPartException", 9)
        assert "contiguous" in out["message"]
    # The byte range must match the part.
    status, out = raw(srv, admin, "UploadLayerPart", {**body, "partFirstByte": 10, "partLastByte": 20})
    assert (out["__type"], out["lastValidByteReceived"]) == ("InvalidLayerPartException", 9)
    status, out = raw(srv, admin, "UploadLayerPart", {**body, "partFirstByte": 10, "partLastByte": 5})
    assert out["__type"] == "InvalidLayerPartException"
    assert part(ecr, repo, upload_id, 10, b"abcde")["lastByteReceived"] == 14
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id,
                                     layerDigests=[sha256(b"0123456789abcde")])
    assert done["layerDigest"] == sha256(b"0123456789abcde")


def test_a_wrong_digest_stores_nothing(srv, ecr, repo):
    data = os.urandom(4096)
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    part(ecr, repo, upload_id, 0, data)
    wrong = fake_digest()
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[wrong])
    code, message = error(e)
    assert code == "InvalidLayerException"
    assert sha256(data) in message and wrong in message
    assert [l["layerAvailability"] for l in availability(ecr, repo, wrong, sha256(data))["layers"]] == [
        "UNAVAILABLE", "UNAVAILABLE"]
    assert Client(srv).head_blob(repo, sha256(data)).status_code == 404
    with pytest.raises(ClientError) as e:
        part(ecr, repo, upload_id, 4096, b"more")
    assert error(e)[0] == "UploadNotFoundException"


def test_an_empty_upload_is_refused(ecr, repo):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[sha256(b"")])
    assert error(e)[0] == "EmptyUploadException"
    # The session is still there for parts.
    assert part(ecr, repo, upload_id, 0, b"late")["lastByteReceived"] == 3


def test_unknown_uploads(srv, ecr, admin, repo):
    unknown = str(uuid.uuid4())
    with pytest.raises(ClientError) as e:
        part(ecr, repo, unknown, 0, b"data")
    code, message = error(e)
    assert code == "UploadNotFoundException" and unknown in message
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=unknown, layerDigests=[sha256(b"data")])
    assert error(e)[0] == "UploadNotFoundException"
    # A session of another repository is unknown here.
    other = f"{repo}-other"
    ecr.create_repository(repositoryName=other)
    foreign = ecr.initiate_layer_upload(repositoryName=other)["uploadId"]
    with pytest.raises(ClientError) as e:
        part(ecr, repo, foreign, 0, b"data")
    assert error(e)[0] == "UploadNotFoundException"
    status, body = raw(srv, admin, "CompleteLayerUpload",
                       {"repositoryName": repo, "uploadId": "not-an-id", "layerDigests": [sha256(b"x")]})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "'uploadId'" in body["message"]


def test_a_layer_already_in_the_repository(srv, ecr, repo):
    data = os.urandom(1000)
    digest = Client(srv).push_blob(repo, data)
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    part(ecr, repo, upload_id, 0, data)
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    code, message = error(e)
    assert (code, message) == ("LayerAlreadyExistsException",
                               f"The layer with digest '{digest}' already exists in the repository with name "
                               f"'{repo}' in the registry with id '{ACCOUNT}'")
    with pytest.raises(ClientError) as e:
        part(ecr, repo, upload_id, 1000, b"more")
    assert error(e)[0] == "UploadNotFoundException", "the session is dropped"
    assert Client(srv).get_blob(repo, digest).content == data


@pytest.mark.parametrize("digests,fragment", [
    (["sha256:" + "a" * 64, "sha256:" + "b" * 64], "one digest per upload"),
    (["sha256:xyz"], "layerDigests"),
    ([], "between 1 and 100"),
])
def test_complete_takes_one_valid_digest(srv, ecr, admin, repo, digests, fragment):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    part(ecr, repo, upload_id, 0, b"data")
    status, body = raw(srv, admin, "CompleteLayerUpload",
                       {"repositoryName": repo, "uploadId": upload_id, "layerDigests": digests})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert fragment in body["message"]


def test_part_input_is_checked(srv, ecr, admin, repo):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    body = {"repositoryName": repo, "uploadId": upload_id, "partFirstByte": 0, "partLastByte": 3,
            "layerPartBlob": base64.b64encode(b"data").decode()}
    cases = [
        ({"partFirstByte": -1}, "InvalidParameterException", "partFirstByte"),
        ({"layerPartBlob": "***"}, "SerializationException", "base64"),
        ({"partLastByte": 20 * 1024 * 1024,
          "layerPartBlob": base64.b64encode(b"x" * (20 * 1024 * 1024 + 1)).decode()},
         "InvalidParameterException", "20971520"),
    ]
    for change, code, fragment in cases:
        status, out = raw(srv, admin, "UploadLayerPart", {**body, **change})
        assert (status, out["__type"]) == (400, code), out
        assert fragment in out["message"]
    assert part(ecr, repo, upload_id, 0, b"data")["lastByteReceived"] == 3


def test_initiate_in_a_missing_repository(ecr):
    with pytest.raises(ClientError) as e:
        ecr.initiate_layer_upload(repositoryName="layers/none")
    assert error(e)[0] == "RepositoryNotFoundException"


# --------------------------------------------------------------------------- authorisation
def test_each_operation_needs_its_action(srv, ecr, repo):
    digest = Client(srv).push_blob(repo, b"guarded")
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    reader = h.ecr(srv, h.new_user(srv, f"reader-{uuid.uuid4().hex[:6]}", h.policy(h.allow(
        ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"], h.repo_arn(repo)))))
    nobody = h.ecr(srv, h.new_user(srv, f"nobody-{uuid.uuid4().hex[:6]}"))
    calls = {
        "BatchCheckLayerAvailability": lambda c, r: c.batch_check_layer_availability(repositoryName=r,
                                                                                       layerDigests=[digest]),
        "GetDownloadUrlForLayer": lambda c, r: c.get_download_url_for_layer(repositoryName=r, layerDigest=digest),
        "InitiateLayerUpload": lambda c, r: c.initiate_layer_upload(repositoryName=r),
        "UploadLayerPart": lambda c, r: part(c, r, upload_id, 0, b"x"),
        "CompleteLayerUpload": lambda c, r: c.complete_layer_upload(repositoryName=r, uploadId=upload_id,
                                                                    layerDigests=[digest]),
    }
    for op, call in calls.items():
        # A missing repository is refused the same way: the answer does not tell.
        for client, name in [(nobody, repo), (nobody, "layers/none")] + (
                [] if op in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer") else [(reader, repo)]):
            with pytest.raises(ClientError) as e:
                call(client, name)
            code, message = error(e)
            assert code == "AccessDeniedException", (op, name, code)
            assert f"ecr:{op}" in message
    assert reader.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])["layers"]
    assert reader.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
