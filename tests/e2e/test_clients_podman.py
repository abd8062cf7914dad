"""podman against a real wharf process.

What this proves:
* `podman import` (busybox rootfs) -> `podman push` -> `podman rmi` -> `podman pull` gives
  back the same image id, and the digest podman records on push (`--digestfile`) is the digest
  wharf serves under the tag;
* both push formats work: OCI (podman's default) and Docker schema2 (`--format v2s2`), and
  a pull by digest works;
* a push into a repository that does not exist fails with wharf's NAME_UNKNOWN message.

Sandbox flags: podman runs as root with private storage under a short temp dir
(`images.podman_flags`: vfs storage driver, cgroupfs, file events, own --root/--runroot/
--tmpdir) and `--tls-verify=false` for the plain-HTTP registry. No container is run.
It logs in as users do (`podman login -u AWS --password-stdin`, the token from
get-login-password) into an auth file in that temp dir (REGISTRY_AUTH_FILE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

import images
from conftest import need_tool

ACCEPT = ", ".join([images.OCI_MANIFEST, images.OCI_INDEX, images.DOCKER_MANIFEST,
                    images.DOCKER_LIST])


@pytest.fixture(autouse=True)
def _podman():
    need_tool("podman")


@pytest.fixture
def pm(wharf):
    """Run podman with private storage and auth file, logged in to `wharf`; the storage is
    wiped afterwards. The state dir is short on purpose: podman refuses a --runroot longer
    than 50 characters (pytest's tmp_path is longer)."""
    state = Path(tempfile.mkdtemp(prefix="wharf-pm-", dir="/tmp"))
    (state / "tmp").mkdir()
    flags = images.podman_flags(state)
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(state / "auth.json")}

    def run(*args: str, check: bool = True, timeout: int = 180,
            input: str | None = None) -> subprocess.CompletedProcess:
        cmd = ["podman", *flags, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                                 f"stderr:\n{p.stderr}")
        return p

    run.state = state
    login = run("login", "--tls-verify=false", "-u", "AWS", "--password-stdin", wharf.host,
                input=wharf.token())
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr
    yield run
    subprocess.run(["podman", *flags, "rmi", "-a", "-f"], capture_output=True, timeout=120)
    # vfs layers are plain directories; make sure nothing is left mounted before rm
    subprocess.run(["podman", *flags, "system", "reset", "-f"], capture_output=True,
                   timeout=120)
    shutil.rmtree(state, ignore_errors=True)


def inspect(pm, ref: str) -> dict:
    return json.loads(pm("image", "inspect", ref).stdout)[0]


def manifest(wharf, repo: str, ref: str) -> requests.Response:
    r = requests.get(f"{wharf.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT},
                     auth=wharf.auth, timeout=30)
    assert r.status_code == 200, (ref, r.status_code, r.text)
    return r


@pytest.mark.parametrize("fmt,media_type", [("oci", images.OCI_MANIFEST),
                                            ("v2s2", images.DOCKER_MANIFEST)])
def test_push_rmi_pull_same_image(wharf, repo, pm, tmp_path, fmt, media_type):
    local = f"localhost/wharf-e2e-{uuid.uuid4().hex[:8]}:v1"
    iid = images.podman_import_image(local, pm.state,
                                     extra_files={"etc/wharf-marker": uuid.uuid4().hex})
    remote = f"{wharf.host}/{repo}:{fmt}"
    digest_file = tmp_path / "digest"
    pm("push", "--tls-verify=false", "--format", fmt, "--digestfile", str(digest_file),
       local, f"docker://{remote}")
    digest = digest_file.read_text().strip()
    assert digest.startswith("sha256:")

    r = manifest(wharf, repo, fmt)
    assert r.headers.get("Docker-Content-Digest") == digest
    assert images.sha256_digest(r.content) == digest
    man = r.json()
    assert man.get("mediaType", media_type) == media_type  # optional in OCI manifests
    assert r.headers.get("Content-Type", "").split(";")[0] == media_type
    for desc in [man["config"], *man["layers"]]:
        b = requests.get(f"{wharf.url}/v2/{repo}/blobs/{desc['digest']}", auth=wharf.auth,
                         timeout=60)
        assert b.status_code == 200, (desc, b.status_code)
        assert images.sha256_digest(b.content) == desc["digest"]
        assert len(b.content) == desc["size"]

    pm("rmi", "-f", local)
    assert pm("image", "exists", local, check=False).returncode != 0

    pm("pull", "--tls-verify=false", remote)
    info = inspect(pm, remote)
    assert info["Id"] in (iid, iid.removeprefix("sha256:"))
    assert info["Digest"] == digest

    # by digest
    pm("rmi", "-f", remote)
    pm("pull", "--tls-verify=false", f"{wharf.host}/{repo}@{digest}")
    info = inspect(pm, f"{wharf.host}/{repo}@{digest}")
    assert info["Id"] in (iid, iid.removeprefix("sha256:"))


def test_push_to_missing_repository_shows_name_unknown(wharf, pm):
    local = f"localhost/wharf-e2e-{uuid.uuid4().hex[:8]}:v1"
    images.podman_import_image(local, pm.state, extra_files={"etc/wharf-marker": "x"})
    missing = f"nosuch/{uuid.uuid4().hex[:10]}"
    p = pm("push", "--tls-verify=false", local, f"docker://{wharf.host}/{missing}:v1",
           check=False)
    assert p.returncode != 0, p.stdout
    out = p.stdout + p.stderr
    assert (f"The repository with name '{missing}' does not exist in the registry with id "
            f"'000000000000'") in out, out
