"""ORAS (the `oras` Python SDK, oras-py) against a real wharf process.

What this proves:
* oras-py pushes an artifact (an SBOM-like file) whose manifest has a `subject` pointing at
  an image pushed first; wharf answers the manifest PUT with `OCI-Subject`;
* the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`) lists it, with the
  artifactType taken from the config media type when the manifest has none, and from
  `artifactType` when it has one (a second, signature-like referrer pushed through oras-py's
  lower-level blob/manifest API); annotations are carried into the descriptors;
* `?artifactType=` filters (and says so with `OCI-Filters-Applied`), an unknown type gives an
  empty index, a digest nobody refers to gives an empty index;
* oras-py pulls the artifact back by digest with the same bytes, lists tags, and a deleted
  referrer drops out of the referrers list.
oras-py has no referrers call of its own, so the referrers API is read with plain HTTP GETs.

oras-py logs in as users do: `login(username="AWS", password=<token from
get-login-password>)` on a client with the "basic" auth backend (its default "token" backend
expects a Bearer token service, which ECR does not have: ECR answers 401 with
`WWW-Authenticate: Basic`, and the client retries with Basic credentials).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
import requests

import images
from conftest import IN_CI

try:
    import oras.client
    import oras.oci
except ImportError:  # pragma: no cover - exercised only where oras is missing
    oras = None

SBOM_TYPE = "application/vnd.example.sbom.v1+json"
SIG_TYPE = "application/vnd.example.signature.v1"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.fixture(autouse=True)
def _oras():
    if oras is None:
        msg = "PyPI package oras is not installed (pip install oras)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def client(wharf, tmp_path):
    c = oras.client.OrasClient(hostname=wharf.host, insecure=True, auth_backend="basic")
    # config_path: where oras-py writes the login if the docker engine does not take it
    login = c.login(username="AWS", password=wharf.token(), hostname=wharf.host,
                    tls_verify=False, config_path=str(tmp_path / "docker-config.json"))
    assert login.get("Status") == "Login Succeeded", login
    return c


def referrers(wharf, repo: str, digest: str, artifact_type: str | None = None):
    params = {"artifactType": artifact_type} if artifact_type else None
    r = requests.get(f"{wharf.url}/v2/{repo}/referrers/{digest}", params=params,
                     auth=wharf.auth, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0] == images.OCI_INDEX, r.headers
    body = r.json()
    assert body["schemaVersion"] == 2
    assert body.get("mediaType") == images.OCI_INDEX
    assert isinstance(body["manifests"], list)
    return r, body


def push_subject_image(wharf, repo: str) -> images.Image:
    im = images.build_image(layers=[images.random_layer(4096)], marker=uuid.uuid4().hex)
    images.push_image(wharf.url, repo, "app", im, session=wharf.session())
    return im


def test_artifact_with_subject_found_through_referrers(wharf, repo, client, tmp_path):
    im = push_subject_image(wharf, repo)
    subject = oras.oci.Subject(mediaType=im.media_type, digest=im.digest, size=len(im.manifest))

    sbom = tmp_path / "sbom.spdx.json"
    sbom_bytes = json.dumps({"spdxVersion": "SPDX-2.3", "name": uuid.uuid4().hex,
                             "packages": [{"name": "busybox", "versionInfo": "1.35"}]}).encode()
    sbom.write_bytes(sbom_bytes)

    # 1. oras-py push with subject; artifact type = config media type (empty config)
    resp = client.push(
        target=f"{wharf.host}/{repo}:sbom",
        files=[f"{sbom}:application/spdx+json"],
        subject=subject,
        manifest_config=f"{tmp_path / 'no-config'}:{SBOM_TYPE}",
        manifest_annotations={"org.example.kind": "sbom"},
        disable_path_validation=True,
        quiet=True,
    )
    assert resp.status_code == 201, resp.text
    sbom_digest = resp.headers["Docker-Content-Digest"]
    assert resp.headers.get("OCI-Subject") == im.digest, dict(resp.headers)

    sbom_manifest = client.get_manifest(f"{wharf.host}/{repo}@{sbom_digest}")
    assert sbom_manifest["subject"]["digest"] == im.digest
    assert sbom_manifest["config"]["mediaType"] == SBOM_TYPE
    raw_sbom_manifest = requests.get(f"{wharf.url}/v2/{repo}/manifests/{sbom_digest}",
                                     headers={"Accept": images.OCI_MANIFEST}, auth=wharf.auth,
                                     timeout=30).content
    assert images.sha256_digest(raw_sbom_manifest) == sbom_digest

    # 2. a signature-like referrer with an explicit artifactType, through oras-py's
    #    lower-level API (blob upload + manifest upload)
    container = client.get_container(f"{wharf.host}/{repo}:sig")
    sig = tmp_path / "sig.bin"
    sig_bytes = os.urandom(256)
    sig.write_bytes(sig_bytes)
    layer = oras.oci.NewLayer(str(sig), media_type="application/octet-stream")
    assert client.upload_blob(str(sig), container, layer).status_code in (200, 201)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"{}")
    conf = {"mediaType": images.OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2}
    assert client.upload_blob(str(empty), container, conf).status_code in (200, 201)
    sig_manifest = {
        "schemaVersion": 2,
        "mediaType": images.OCI_MANIFEST,
        "artifactType": SIG_TYPE,
        "config": conf,
        "layers": [layer],
        "subject": {"mediaType": im.media_type, "digest": im.digest, "size": len(im.manifest)},
        "annotations": {"org.example.kind": "signature"},
    }
    r = client.upload_manifest(sig_manifest, container)
    assert r.status_code == 201, r.text
    sig_digest = r.headers["Docker-Content-Digest"]
    assert r.headers.get("OCI-Subject") == im.digest

    # 3. the referrers API lists both
    _, body = referrers(wharf, repo, im.digest)
    by_digest = {d["digest"]: d for d in body["manifests"]}
    assert set(by_digest) == {sbom_digest, sig_digest}, body
    d = by_digest[sbom_digest]
    assert d["mediaType"] == images.OCI_MANIFEST
    assert d["artifactType"] == SBOM_TYPE
    assert d["size"] == len(raw_sbom_manifest)
    assert d.get("annotations", {}).get("org.example.kind") == "sbom"
    d = by_digest[sig_digest]
    assert d["artifactType"] == SIG_TYPE
    assert d.get("annotations", {}).get("org.example.kind") == "signature"

    # 4. filtered
    r, body = referrers(wharf, repo, im.digest, artifact_type=SBOM_TYPE)
    assert [d["digest"] for d in body["manifests"]] == [sbom_digest]
    assert "artifactType" in r.headers.get("OCI-Filters-Applied", ""), dict(r.headers)
    _, body = referrers(wharf, repo, im.digest, artifact_type=SIG_TYPE)
    assert [d["digest"] for d in body["manifests"]] == [sig_digest]
    _, body = referrers(wharf, repo, im.digest, artifact_type="application/vnd.example.none")
    assert body["manifests"] == []

    # nobody refers to the SBOM itself, nor to a digest that was never pushed
    _, body = referrers(wharf, repo, sbom_digest)
    assert body["manifests"] == []
    _, body = referrers(wharf, repo, images.sha256_digest(os.urandom(32)))
    assert body["manifests"] == []

    # 5. oras-py pulls the artifact back, by digest
    out = tmp_path / "out"
    files = client.pull(target=f"{wharf.host}/{repo}@{sbom_digest}", outdir=str(out))
    assert [os.path.basename(f) for f in files] == [sbom.name]
    assert (out / sbom.name).read_bytes() == sbom_bytes
    files = client.pull(target=f"{wharf.host}/{repo}:sig", outdir=str(tmp_path / "out2"))
    assert len(files) == 1 and open(files[0], "rb").read() == sig_bytes

    assert set(client.get_tags(f"{wharf.host}/{repo}")) >= {"app", "sbom", "sig"}

    # 6. a deleted referrer drops out of the list
    r = requests.delete(f"{wharf.url}/v2/{repo}/manifests/{sig_digest}", auth=wharf.auth,
                        timeout=30)
    assert r.status_code == 202, (r.status_code, r.text)
    _, body = referrers(wharf, repo, im.digest)
    assert [d["digest"] for d in body["manifests"]] == [sbom_digest]


def test_oras_push_pull_plain_artifact(wharf, repo, client, tmp_path):
    """A plain oras push/pull (no subject), files with several layers, chunked upload."""
    a = tmp_path / "a.txt"
    b = tmp_path / "b.bin"
    a.write_text("hello wharf\n")
    b_bytes = os.urandom(3 * 1024 * 1024 + 17)
    b.write_bytes(b_bytes)
    resp = client.push(target=f"{wharf.host}/{repo}:files", files=[str(a), str(b)],
                       disable_path_validation=True, do_chunked=True,
                       chunk_size=1024 * 1024, quiet=True)
    assert resp.status_code == 201, resp.text
    out = tmp_path / "out"
    files = client.pull(target=f"{wharf.host}/{repo}:files", outdir=str(out))
    assert sorted(os.path.basename(f) for f in files) == ["a.txt", "b.bin"]
    assert (out / "a.txt").read_text() == "hello wharf\n"
    assert (out / "b.bin").read_bytes() == b_bytes
