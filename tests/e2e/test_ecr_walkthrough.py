"""The walk-through a new user does, with the real AWS CLI and docker, each step checked:

    aws ecr create-repository --repository-name walkthrough/app
    aws ecr get-login-password | docker login --username AWS --password-stdin 127.0.0.1:PORT
    docker push 127.0.0.1:PORT/walkthrough/app:v1
    aws ecr describe-images / list-images
    aws ecr put-image-tag-mutability --image-tag-mutability IMMUTABLE
    docker push ...:v1 again (refused: the tag is immutable), ...:v2 (a new tag is fine)
    aws ecr batch-delete-image --image-ids imageTag=v1
    aws ecr delete-repository --force

The AWS CLI gets the server's administrator credentials (WharfServer.aws_env()) and
`--endpoint-url`; docker logs in with a private DOCKER_CONFIG, and every image tagged here
is removed from the engine afterwards.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

import iamhelp as h
from conftest import need_docker, need_tool
from iamhelp import module_factory  # noqa: F401  (fixture)

ACCOUNT = h.DEFAULT_ACCOUNT
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
REPO = "walkthrough/app"


@pytest.fixture(scope="module")
def srv(module_factory):  # noqa: F811
    return h.serve(module_factory)


@pytest.fixture
def env(srv, tmp_path):
    """The AWS CLI's environment (the administrator's credentials file, the server's region)
    and a private DOCKER_CONFIG."""
    need_tool("aws")
    need_docker()
    d = tmp_path / "docker-config"
    d.mkdir()
    return {**srv.aws_env(), "AWS_PAGER": "", "DOCKER_CONFIG": str(d)}


@pytest.fixture
def refs():
    """Image references and ids made by the test; all removed from the engine afterwards
    (by id too: an image whose tag went to a newer import is left untagged)."""
    made: list[str] = []
    yield made
    for r in made:
        subprocess.run(["docker", "rmi", "-f", r], capture_output=True, timeout=120)


def aws(srv, env, *args, check: bool = True) -> subprocess.CompletedProcess:
    return h.run("aws", "ecr", *args, "--endpoint-url", srv.url, "--output", "json", env=env, check=check)


def aws_json(srv, env, *args) -> dict:
    return json.loads(aws(srv, env, *args).stdout)


def docker(env, *args, check: bool = True) -> subprocess.CompletedProcess:
    return h.run("docker", *args, env={"DOCKER_CONFIG": env["DOCKER_CONFIG"]}, check=check)


def docker_import(ref: str, tmp_path: Path) -> str:
    """An image made with `docker import` from a one-file tar; returns its id."""
    marker = uuid.uuid4().hex
    tar = h.tiny_rootfs_tar(tmp_path / f"{marker}.tar", marker)
    return subprocess.run(["docker", "import", str(tar), ref], check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()


def pushed_digest(output: str, tag: str) -> tuple[str, int]:
    m = re.search(rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: (\d+)$", output, re.M)
    assert m, f"docker push printed no digest line for {tag}:\n{output}"
    return m.group(1), int(m.group(2))


def test_aws_cli_and_docker_walkthrough(srv, env, refs, tmp_path):
    # 1. a repository
    repo = aws_json(srv, env, "create-repository", "--repository-name", REPO)["repository"]
    uri = f"{ACCOUNT}.dkr.ecr.{srv.region}.localhost:{srv.port}/{REPO}"
    assert (repo["repositoryName"], repo["registryId"], repo["repositoryUri"], repo["imageTagMutability"]) \
        == (REPO, ACCOUNT, uri, "MUTABLE")
    assert repo["repositoryArn"] == f"arn:aws:ecr:{srv.region}:{ACCOUNT}:repository/{REPO}"

    # 2. docker login with the AWS CLI's password, through a pipe as the docs show it
    login = h.run("bash", "-o", "pipefail", "-c",
                  'aws ecr get-login-password --endpoint-url "$WHARF_URL" '
                  '| docker login --username AWS --password-stdin "$WHARF_HOST"',
                  env={**env, "WHARF_URL": srv.url, "WHARF_HOST": srv.host})
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr
    config = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert srv.host in config["auths"], config

    # 3. docker push
    v1 = f"{srv.host}/{REPO}:v1"
    refs.append(v1)
    image_id = docker_import(v1, tmp_path)
    refs.append(image_id)
    push = docker(env, "push", v1)
    digest, manifest_size = pushed_digest(push.stdout, "v1")
    manifest = requests.get(f"{srv.url}/v2/{REPO}/manifests/v1", auth=srv.auth,
                            headers={"Accept": DOCKER_MANIFEST}, timeout=30)
    assert manifest.status_code == 200 and len(manifest.content) == manifest_size
    assert manifest.json()["config"]["digest"] == image_id
    layers_size = sum(layer["size"] for layer in manifest.json()["layers"])

    # 4. what the registry holds
    images = aws_json(srv, env, "describe-images", "--repository-name", REPO)["imageDetails"]
    assert len(images) == 1, images
    d = images[0]
    assert (d["registryId"], d["repositoryName"], d["imageDigest"], d["imageTags"]) == (ACCOUNT, REPO, digest, ["v1"])
    assert d["imageSizeInBytes"] == layers_size
    assert d["imageManifestMediaType"] == DOCKER_MANIFEST
    assert d["artifactMediaType"] == "application/vnd.docker.container.image.v1+json"
    assert d["imagePushedAt"]
    assert aws_json(srv, env, "list-images", "--repository-name", REPO)["imageIds"] == [
        {"imageDigest": digest, "imageTag": "v1"}]
    one = aws_json(srv, env, "describe-images", "--repository-name", REPO, "--image-ids", "imageTag=v1")
    assert [x["imageDigest"] for x in one["imageDetails"]] == [digest]

    # 5. immutable tags
    out = aws_json(srv, env, "put-image-tag-mutability", "--repository-name", REPO,
                   "--image-tag-mutability", "IMMUTABLE")
    assert out == {"registryId": ACCOUNT, "repositoryName": REPO, "imageTagMutability": "IMMUTABLE"}
    refused = ("The image tag 'v1' already exists in the 'walkthrough/app' repository and cannot be overwritten "
               "because the tag is immutable.")
    # the very same image again: refused too (ECR refuses even an identical manifest)
    again = docker(env, "push", v1, check=False)
    assert again.returncode != 0, again.stdout
    assert refused in again.stdout + again.stderr, again.stdout + again.stderr
    # another image under the same tag
    image_id2 = docker_import(v1, tmp_path)
    refs.append(image_id2)
    assert image_id2 != image_id
    other = docker(env, "push", v1, check=False)
    assert other.returncode != 0, other.stdout
    assert refused in other.stdout + other.stderr, other.stdout + other.stderr
    assert aws_json(srv, env, "list-images", "--repository-name", REPO)["imageIds"] == [
        {"imageDigest": digest, "imageTag": "v1"}], "v1 still names the first image"
    # a new tag is fine
    v2 = f"{srv.host}/{REPO}:v2"
    refs.append(v2)
    docker(env, "tag", v1, v2)
    digest2, _ = pushed_digest(docker(env, "push", v2).stdout, "v2")
    assert digest2 != digest

    # 6. delete the first image by its tag (its last: the image goes)
    deleted = aws_json(srv, env, "batch-delete-image", "--repository-name", REPO, "--image-ids", "imageTag=v1")
    assert deleted == {"imageIds": [{"imageDigest": digest, "imageTag": "v1"}], "failures": []}
    assert aws_json(srv, env, "list-images", "--repository-name", REPO)["imageIds"] == [
        {"imageDigest": digest2, "imageTag": "v2"}]
    gone = aws(srv, env, "describe-images", "--repository-name", REPO, "--image-ids", f"imageDigest={digest}",
               check=False)
    assert gone.returncode != 0 and "ImageNotFoundException" in gone.stderr, gone.stderr

    # 7. the repository, with what is left in it
    kept = aws(srv, env, "delete-repository", "--repository-name", REPO, check=False)
    assert kept.returncode != 0 and "RepositoryNotEmptyException" in kept.stderr, kept.stderr
    repo = aws_json(srv, env, "delete-repository", "--repository-name", REPO, "--force")["repository"]
    assert (repo["repositoryName"], repo["repositoryUri"]) == (REPO, uri)
    missing = aws(srv, env, "describe-repositories", "--repository-names", REPO, check=False)
    assert missing.returncode != 0 and "RepositoryNotFoundException" in missing.stderr, missing.stderr
    docker(env, "rmi", v2)
    pull = docker(env, "pull", v2, check=False)
    assert pull.returncode != 0, pull.stdout
    assert "does not exist" in pull.stdout + pull.stderr, pull.stdout + pull.stderr

    docker(env, "logout", srv.host)
