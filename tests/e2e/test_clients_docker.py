"""The docker CLI and engine against a real wharf process.

What this proves:
* `docker import` (busybox rootfs) -> `docker push` -> `docker rmi` -> `docker pull` gives
  back the same image id; the digest docker prints on push is the digest wharf serves, and the
  pulled image runs (its files came back intact);
* a second push of the same layers into another repository is a cross-repository mount
  (`Mounted from ...`), and the mounted copy pulls;
* a push into a repository that does not exist fails and the user sees wharf's NAME_UNKNOWN
  message; pulling an unknown tag fails with "manifest unknown".

The engine treats 127.0.0.0/8 as an insecure registry by default, so no daemon
configuration is needed. Every image tagged here is removed afterwards.

Each test logs in as users do (`docker login --username AWS --password-stdin` fed the token
from get-login-password) with its own DOCKER_CONFIG, so no credentials land in ~/.docker,
and logs out afterwards.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest
import requests

import images
from conftest import need_docker, run_tool

ACCEPT = ", ".join([images.OCI_MANIFEST, images.OCI_INDEX, images.DOCKER_MANIFEST,
                    images.DOCKER_LIST])


def docker(*args: str, check: bool = True, timeout: int = 180) -> subprocess.CompletedProcess:
    return run_tool("docker", *args, check=check, timeout=timeout)


@pytest.fixture
def tags():
    """Image references made by a test; all removed from the engine afterwards."""
    made: list[str] = []
    yield made
    for t in made:
        subprocess.run(["docker", "rmi", "-f", t], capture_output=True, timeout=120)


@pytest.fixture(autouse=True)
def _docker(wharf, tmp_path, monkeypatch):
    """The docker CLI of this test uses a private config dir, logged in to `wharf`."""
    need_docker()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    login = run_tool("docker", "login", "--username", "AWS", "--password-stdin", wharf.host,
                     input=wharf.token())
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr
    yield
    docker("logout", wharf.host)


def image_id(ref: str) -> str:
    return docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def pushed_digest(output: str, tag: str) -> str:
    m = re.search(rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: (\d+)$", output,
                  re.M)
    assert m, f"docker push printed no digest line for {tag}:\n{output}"
    return m.group(1)


def test_import_push_rmi_pull_same_image(wharf, repo, tags):
    marker = uuid.uuid4().hex
    ref = f"{wharf.host}/{repo}:v1"
    tags.append(ref)
    iid = images.docker_import_image(ref, extra_files={"etc/wharf-marker": marker + "\n"})
    assert iid.startswith("sha256:")

    push = docker("push", ref)
    digest = pushed_digest(push.stdout, "v1")

    # the digest docker reports is what wharf serves under the tag
    r = requests.get(f"{wharf.url}/v2/{repo}/manifests/v1", headers={"Accept": ACCEPT},
                     auth=wharf.auth, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers.get("Docker-Content-Digest") == digest
    assert images.sha256_digest(r.content) == digest
    man = r.json()
    assert man["mediaType"] == images.DOCKER_MANIFEST
    assert man["config"]["digest"] == iid  # image id = config digest

    docker("rmi", ref)
    assert docker("image", "inspect", ref, check=False).returncode != 0

    pull = docker("pull", ref)
    assert f"Digest: {digest}" in pull.stdout, pull.stdout
    assert image_id(ref) == iid
    repo_digests = docker("image", "inspect", "-f", "{{json .RepoDigests}}", ref).stdout
    assert f"{wharf.host}/{repo}@{digest}" in repo_digests

    # the pulled layer is the real root filesystem: run it
    run = docker("run", "--rm", "--network", "none", ref, "/bin/cat", "/etc/wharf-marker")
    assert run.stdout.strip() == marker

    # pull by digest too
    by_digest = f"{wharf.host}/{repo}@{digest}"
    tags.append(by_digest)
    docker("pull", by_digest)
    assert image_id(by_digest) == iid


def test_push_to_second_repository_mounts_layers(wharf, repo, tags):
    wharf.put_account_setting("BLOB_MOUNTING", "ENABLED")  # off by default, as in ECR
    marker = uuid.uuid4().hex
    ref1 = f"{wharf.host}/{repo}:v1"
    tags.append(ref1)
    iid = images.docker_import_image(ref1, extra_files={"etc/wharf-marker": marker + "\n"})
    d1 = pushed_digest(docker("push", ref1).stdout, "v1")

    repo2 = f"{repo}-copy"
    wharf.create_repo(repo2)
    ref2 = f"{wharf.host}/{repo2}:v1"
    tags.append(ref2)
    docker("tag", ref1, ref2)
    push2 = docker("push", ref2)
    assert f"Mounted from {repo}" in push2.stdout, push2.stdout
    assert pushed_digest(push2.stdout, "v1") == d1

    docker("rmi", ref1, ref2)
    docker("pull", ref2)
    assert image_id(ref2) == iid


def test_push_to_missing_repository_shows_name_unknown(wharf, tags):
    missing = f"nosuch/{uuid.uuid4().hex[:10]}"
    ref = f"{wharf.host}/{missing}:v1"
    tags.append(ref)
    images.docker_import_image(ref, extra_files={"etc/wharf-marker": uuid.uuid4().hex})
    p = docker("push", ref, check=False)
    assert p.returncode != 0, p.stdout
    out = p.stdout + p.stderr
    assert (f"The repository with name '{missing}' does not exist in the registry with id "
            f"'000000000000'") in out, out
    r = requests.get(f"{wharf.url}/v2/{missing}/tags/list", auth=wharf.auth, timeout=30)
    assert r.status_code == 404


def test_pull_unknown_tag_fails(wharf, repo, tags):
    ref = f"{wharf.host}/{repo}:does-not-exist"
    tags.append(ref)
    p = docker("pull", ref, check=False)
    assert p.returncode != 0
    assert "manifest unknown" in (p.stdout + p.stderr).lower(), p.stderr
