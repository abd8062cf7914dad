"""skopeo (containers/image) against a real wharf process.

What this proves:
* a real multi-layer image (busybox root filesystem + a second layer) copied from an OCI
  layout into wharf and back out to a fresh OCI layout keeps its manifest, config and layer
  digests byte for byte;
* the same for a multi-arch image index (`--all`, linux/amd64 + linux/arm64 children), and
  `--override-arch` picks the right child out of wharf's index;
* `skopeo copy --format v2s2` pushes Docker schema2 media types that wharf stores and serves;
* `skopeo inspect` (raw and parsed, also `--config`) and `skopeo list-tags` read wharf;
* `skopeo delete` removes a manifest; a push into a repository that does not exist fails with
  wharf's NAME_UNKNOWN message shown to the user.

Each test logs in as users do (`skopeo login -u AWS --password-stdin`, the token from
get-login-password) into its own auth file (REGISTRY_AUTH_FILE), which every skopeo command
of the test then reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

import images
from conftest import need_tool, run_tool

ACCEPT = ", ".join([images.OCI_MANIFEST, images.OCI_INDEX, images.DOCKER_MANIFEST,
                    images.DOCKER_LIST])


@pytest.fixture(autouse=True)
def _skopeo(wharf, tmp_path, monkeypatch):
    """skopeo, logged in to `wharf` through an auth file of this test's own."""
    need_tool("skopeo")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    login = run_tool("skopeo", "login", "--tls-verify=false", "-u", "AWS", "--password-stdin",
                     wharf.host, input=wharf.token())
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr


def skopeo(*args: str, check: bool = True, timeout: int = 180) -> subprocess.CompletedProcess:
    return run_tool("skopeo", *args, check=check, timeout=timeout)


def layout_top(layout: Path, tag: str) -> dict:
    """The descriptor that `tag` names in an OCI layout's index.json."""
    index = json.loads((layout / "index.json").read_text())
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m
    raise AssertionError(f"tag {tag} not in {layout}/index.json: {index}")


def layout_blob(layout: Path, digest: str) -> bytes:
    algo, hexd = digest.split(":", 1)
    p = layout / "blobs" / algo / hexd
    assert p.is_file(), f"blob {digest} missing from {layout}"
    data = p.read_bytes()
    assert images.sha256_digest(data) == digest, f"blob file {p} does not hash to its name"
    return data


def two_layer_image(marker: str) -> images.Image:
    """busybox rootfs layer + a second layer on top (unique per marker)."""
    base = images.make_layer(images.busybox_rootfs_bytes({"etc/wharf-marker": marker + "\n"}))
    top = images.make_layer({"opt/app/hello.txt": f"hello from {marker}\n",
                             "opt/app/data.bin": os.urandom(64 * 1024)})
    return images.build_image(layers=[base, top], cmd=["/bin/cat", "/opt/app/hello.txt"])


def get_manifest(wharf, repo: str, ref: str) -> requests.Response:
    return requests.get(f"{wharf.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT},
                        auth=wharf.auth, timeout=30)


def assert_image_in_layout(layout: Path, im: images.Image) -> None:
    assert layout_blob(layout, im.digest) == im.manifest
    assert layout_blob(layout, im.config.digest) == im.config.data
    for l in im.layers:
        assert layout_blob(layout, l.digest) == l.data


def test_copy_multilayer_image_roundtrip(wharf, repo, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    im = two_layer_image(uuid.uuid4().hex)
    images.write_oci_layout(src, im, "latest")
    ref = f"docker://{wharf.host}/{repo}:v1"

    skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:latest", ref)

    # what wharf stores is exactly what was pushed
    r = get_manifest(wharf, repo, "v1")
    assert r.status_code == 200, r.text
    assert r.content == im.manifest
    assert r.headers.get("Docker-Content-Digest") == im.digest
    assert r.headers.get("Content-Type", "").split(";")[0] == images.OCI_MANIFEST
    for b in im.blobs():
        br = requests.get(f"{wharf.url}/v2/{repo}/blobs/{b.digest}", auth=wharf.auth, timeout=60)
        assert br.status_code == 200, (b.digest, br.status_code, br.text[:200])
        assert images.sha256_digest(br.content) == b.digest

    skopeo("copy", "--src-tls-verify=false", ref, f"oci:{dst}:out")

    top = layout_top(dst, "out")
    assert top["digest"] == im.digest
    assert top["size"] == len(im.manifest)
    assert_image_in_layout(dst, im)
    man = json.loads(layout_blob(dst, top["digest"]))
    assert man["config"]["digest"] == im.config.digest
    assert [l["digest"] for l in man["layers"]] == [l.digest for l in im.layers]
    assert len(man["layers"]) == 2


def test_copy_multiarch_index_roundtrip(wharf, repo, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    idx = images.make_multiarch_oci_layout(src, tag="latest", marker=uuid.uuid4().hex)
    assert [im.platform["architecture"] for im in idx.images] == ["amd64", "arm64"]
    ref = f"docker://{wharf.host}/{repo}:multi"

    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{src}:latest", ref)

    r = get_manifest(wharf, repo, "multi")
    assert r.status_code == 200, r.text
    assert r.content == idx.manifest
    assert r.headers.get("Docker-Content-Digest") == idx.digest
    assert r.headers.get("Content-Type", "").split(";")[0] == images.OCI_INDEX
    for child in idx.images:
        cr = get_manifest(wharf, repo, child.digest)
        assert cr.status_code == 200, (child.digest, cr.text)
        assert cr.content == child.manifest

    skopeo("copy", "--all", "--src-tls-verify=false", ref, f"oci:{dst}:out")
    top = layout_top(dst, "out")
    assert top["digest"] == idx.digest
    assert layout_blob(dst, idx.digest) == idx.manifest
    for child in idx.images:
        assert_image_in_layout(dst, child)

    # a single platform out of wharf's index
    arm = idx.images[1]
    one = tmp_path / "arm64"
    skopeo("--override-arch", "arm64", "--override-os", "linux", "copy",
           "--src-tls-verify=false", ref, f"oci:{one}:arm")
    assert layout_top(one, "arm")["digest"] == arm.digest
    assert_image_in_layout(one, arm)

    # parsed inspect of one platform reports that child's layers
    p = skopeo("--override-arch", "arm64", "--override-os", "linux", "inspect",
               "--tls-verify=false", ref)
    info = json.loads(p.stdout)
    assert info["Architecture"] == "arm64"
    assert info["Layers"] == [l.digest for l in arm.layers]


def test_inspect_and_list_tags(wharf, repo, tmp_path):
    src = tmp_path / "src"
    im = two_layer_image(uuid.uuid4().hex)
    images.write_oci_layout(src, im, "latest")
    for tag in ("v1", "v2", "latest"):
        skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:latest",
               f"docker://{wharf.host}/{repo}:{tag}")
    ref = f"docker://{wharf.host}/{repo}:v1"

    raw = skopeo("inspect", "--tls-verify=false", "--raw", ref).stdout
    assert raw.encode() == im.manifest

    cfg = skopeo("inspect", "--tls-verify=false", "--config", "--raw", ref).stdout
    assert cfg.encode() == im.config.data

    info = json.loads(skopeo("inspect", "--tls-verify=false", ref).stdout)
    assert info["Digest"] == im.digest
    assert info["Name"] == f"{wharf.host}/{repo}"
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Layers"] == [l.digest for l in im.layers]
    assert sorted(info["RepoTags"]) == ["latest", "v1", "v2"]

    tags = json.loads(skopeo("list-tags", "--tls-verify=false",
                             f"docker://{wharf.host}/{repo}").stdout)
    assert tags["Repository"] == f"{wharf.host}/{repo}"
    assert sorted(tags["Tags"]) == ["latest", "v1", "v2"]


def test_copy_as_docker_schema2(wharf, repo, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    im = two_layer_image(uuid.uuid4().hex)
    images.write_oci_layout(src, im, "latest")
    ref = f"docker://{wharf.host}/{repo}:v2s2"
    skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2", f"oci:{src}:latest", ref)

    r = get_manifest(wharf, repo, "v2s2")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").split(";")[0] == images.DOCKER_MANIFEST
    man = json.loads(r.content)
    assert man["mediaType"] == images.DOCKER_MANIFEST
    assert r.headers.get("Docker-Content-Digest") == images.sha256_digest(r.content)
    # conversion keeps the compressed layers and the config bytes
    assert [l["digest"] for l in man["layers"]] == [l.digest for l in im.layers]
    assert man["config"]["digest"] == im.config.digest

    raw = skopeo("inspect", "--tls-verify=false", "--raw", ref).stdout
    assert raw.encode() == r.content

    skopeo("copy", "--src-tls-verify=false", ref, f"oci:{dst}:out")
    for l in im.layers:
        assert layout_blob(dst, l.digest) == l.data


def test_delete_manifest(wharf, repo, tmp_path):
    src = tmp_path / "src"
    im = two_layer_image(uuid.uuid4().hex)
    images.write_oci_layout(src, im, "latest")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:latest",
           f"docker://{wharf.host}/{repo}:gone")
    assert get_manifest(wharf, repo, im.digest).status_code == 200

    skopeo("delete", "--tls-verify=false", f"docker://{wharf.host}/{repo}@{im.digest}")

    assert get_manifest(wharf, repo, im.digest).status_code == 404
    assert get_manifest(wharf, repo, "gone").status_code == 404
    p = skopeo("inspect", "--tls-verify=false", f"docker://{wharf.host}/{repo}:gone",
               check=False)
    assert p.returncode != 0
    assert "manifest unknown" in (p.stdout + p.stderr).lower(), p.stderr


def test_push_to_missing_repository_shows_name_unknown(wharf, tmp_path):
    src = tmp_path / "src"
    images.make_oci_layout(src, tag="latest", marker=uuid.uuid4().hex)
    missing = f"nosuch/{uuid.uuid4().hex[:10]}"
    p = skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:latest",
               f"docker://{wharf.host}/{missing}:v1", check=False)
    assert p.returncode != 0, p.stdout
    out = p.stdout + p.stderr
    assert (f"The repository with name '{missing}' does not exist in the registry with id "
            f"'000000000000'") in out, out
    assert get_manifest(wharf, missing, "v1").status_code == 404
