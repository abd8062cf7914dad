"""The `wharf` process itself: TLS with HTTP/1.1 and HTTP/2, configuration layers
(file, environment, flags), `serve --help`, request limits, registry host names, the
`wharf repo` commands and the create-on-push switch.

Every /v2 request authenticates as a user would (Basic AWS:<token>, see conftest.py); the
servers started by hand here get their token the same way, from the administrator's
credentials file in their data dir."""

from __future__ import annotations

import configparser
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import READY_STATUSES, WHARF_BIN, WharfServer, free_port, need_tool, unique_name
from ocihelp import Client, sha256


def _wait_tls(port: int, ca: str, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            r = requests.get(f"https://localhost:{port}/v2/", verify=ca, timeout=1)
            if r.status_code in READY_STATUSES:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError("TLS server not ready")


@pytest.fixture
def tls_server(tmp_path):
    """(port, CA file, the administrator's token) of a server on HTTPS; the token comes from
    `aws ecr get-login-password` over TLS (wharf's own get-login-password speaks only
    http://)."""
    need_tool("openssl")
    need_tool("aws")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [WHARF_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "data"),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        _wait_tls(port, str(cert))
        # a handle on that data dir, for the administrator's credentials
        env = {**os.environ, **WharfServer(tmp_path / "data", port=port).aws_env(),
               "AWS_CA_BUNDLE": str(cert)}
        token = subprocess.run(["aws", "ecr", "get-login-password", "--endpoint-url",
                                f"https://localhost:{port}"], env=env, capture_output=True,
                               text=True, check=True, timeout=60).stdout.strip()
        yield port, str(cert), token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_tls_serves_http1_and_http2(tls_server):
    need_tool("curl")
    port, ca, token = tls_server
    for flag, expected in (("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")):
        out = subprocess.run(["curl", "-sS", "-i", flag, "--cacert", ca, "-u", f"AWS:{token}",
                              f"https://localhost:{port}/v2/"],
                             capture_output=True, text=True, check=True).stdout
        assert out.startswith(expected), out
        assert "docker-distribution-api-version: registry/2.0" in out.lower()
    # Plain HTTP on a TLS port is not answered as HTTP.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://localhost:{port}/v2/", timeout=2)


def test_config_file_env_and_flags_layer(tmp_path):
    """File < environment < flags, as documented."""
    port = free_port()
    config = tmp_path / "wharf.toml"
    config.write_text(f'listen = "127.0.0.1:{port}"\naccount_id = "111111111111"\n'
                      f'regions = ["eu-west-1", "us-east-1"]\nmax_page_size = 7\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env["WHARF_ACCOUNT_ID"] = "222222222222"
    data = tmp_path / "data"
    r = subprocess.run([WHARF_BIN, "--config", str(config), "--data-dir", str(data), "repo", "create", "cfg/app"],
                       env=env, capture_output=True, text=True, check=True)
    # environment beats the file; the first region of the file is the default
    assert r.stdout.strip() == "222222222222.dkr.ecr.eu-west-1.localhost/cfg/app"
    r = subprocess.run([WHARF_BIN, "--config", str(config), "--data-dir", str(data), "--account-id", "333333333333",
                        "repo", "create", "cfg/app"], env=env, capture_output=True, text=True, check=True)
    assert r.stdout.strip().startswith("333333333333."), "flags beat the environment"

    proc = subprocess.Popen([WHARF_BIN, "--config", str(config), "--data-dir", str(data), "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(url + "/v2/", timeout=1).status_code in READY_STATUSES:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        # the same settings for the CLI: the administrator of account 222222222222, a token
        # for eu-west-1 (the first region of the file)
        handle = WharfServer(data, extra_args=["--config", str(config)],
                             env={"WHARF_ACCOUNT_ID": "222222222222"}, port=port)
        assert (handle.account_id, handle.region) == ("222222222222", "eu-west-1")
        http = handle.session()
        body = http.get(url + "/v2/_catalog").json()
        assert body == {"repositories": ["cfg/app"]}, "account from the environment, region from the file"
        r = http.get(url + "/v2/_catalog?n=100")
        assert r.status_code == 200  # capped at max_page_size = 7, still answered
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_bad_config_is_refused_clearly(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('lisen = "127.0.0.1:1"\n')
    r = subprocess.run([WHARF_BIN, "--config", str(config), "serve"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "lisen" in r.stderr
    r = subprocess.run([WHARF_BIN, "--account-id", "12", "repo", "list"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "12 digits" in r.stderr


def test_serve_help_documents_every_option():
    out = subprocess.run([WHARF_BIN, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--config", "--listen", "--data-dir", "--database-url", "--account-id", "--regions", "--domain",
                   "--tls-cert", "--tls-key", "--log-format", "--max-manifest-bytes",
                   "--max-blob-bytes", "--max-header-bytes", "--max-page-size", "--cache-ttl-ms", "--cache-bytes",
                   "--pull-flush-secs", "--shutdown-grace-secs", "--database-max-connections",
                   "--master-key-file", "--token-lifetime-secs", "--max-api-body-bytes"):
        assert option in out, option
    assert "WHARF_LISTEN" in out, "environment variables are documented too"


def test_oversized_request_head_is_refused(wharf):
    """Headers past --max-header-bytes (64 KiB by default) are refused before routing."""
    r = requests.get(wharf.url + "/v2/", headers={"X-Big": "a" * (80 * 1024)}, auth=wharf.auth)
    assert r.status_code == 431
    assert requests.get(wharf.url + "/v2/", auth=wharf.auth).status_code == 200, "the server is unharmed"


def account_root_credentials(server: WharfServer, account: str) -> dict:
    """Create ``account`` and an access key of its root; returns the key."""
    server.cli("admin", "account", "create", account)
    parser = configparser.ConfigParser()
    parser.read_string(server.cli("admin", "access-key", "create", "--root",
                                  "--account", account).stdout)
    return dict(parser["default"])


def test_registry_host_names_select_account_and_region(wharf_factory):
    """The host name selects the registry (account and region); a token is good for the
    region it was issued for, and each account is reached with its own credentials."""
    server = wharf_factory(extra_args=["--regions", "us-east-1,eu-west-1"])
    server.create_repo("hosts/app")
    server.cli("repo", "create", "hosts/eu", "--region", "eu-west-1")
    # Any other host name is the default account and first region.
    http = server.session()
    assert http.get(server.url + "/v2/_catalog").json() == {"repositories": ["hosts/app"]}
    eu = {"Host": "000000000000.dkr.ecr.eu-west-1.localhost"}
    eu_auth = ("AWS", server.token("eu-west-1"))
    assert requests.get(server.url + "/v2/_catalog", headers=eu, auth=eu_auth).json() == \
        {"repositories": ["hosts/eu"]}
    other = {"Host": "999999999999.dkr.ecr.us-east-1.localhost"}
    r = http.get(server.url + "/v2/_catalog", headers=other)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED", \
        "another account's registry is not the default account administrator's"
    other_auth = ("AWS", server.login_password(account_root_credentials(server, "999999999999")))
    assert requests.get(server.url + "/v2/_catalog", headers=other, auth=other_auth).json() == \
        {"repositories": []}
    r = requests.get(server.url + "/v2/hosts/app/tags/list", headers=other, auth=other_auth)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert "'999999999999'" in r.json()["errors"][0]["message"]
    unserved = {"Host": "000000000000.dkr.ecr.ap-south-1.localhost"}
    r = http.get(server.url + "/v2/hosts/app/tags/list", headers=unserved)
    assert r.status_code == 404 and "ap-south-1" in r.json()["errors"][0]["message"]


def test_repo_commands(wharf):
    name = unique_name("cli")
    uri = wharf.create_repo(name)
    assert uri == f"000000000000.dkr.ecr.us-east-1.localhost/{name}"
    dup = wharf.cli("repo", "create", name, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    bad = wharf.cli("repo", "create", "Bad_Name", check=False)
    assert bad.returncode == 1 and "invalid repository name" in bad.stderr
    assert name in wharf.cli("repo", "list").stdout.split()

    client = Client(wharf)
    client.push_image(name, "v1")
    refused = wharf.cli("repo", "delete", name, check=False)
    assert refused.returncode == 1 and "still contains images" in refused.stderr
    wharf.cli("repo", "delete", name, "--force")
    assert name not in wharf.cli("repo", "list").stdout.split()
    # The running server notices within its cache TTL (1 s by default).
    deadline = time.monotonic() + 5
    while requests.get(f"{wharf.url}/v2/{name}/tags/list", auth=wharf.auth).status_code != 404:
        assert time.monotonic() < deadline, "deleted repository still served"
        time.sleep(0.1)
    missing = wharf.cli("repo", "delete", name, check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_sigterm_lets_an_inflight_upload_finish(wharf_factory):
    """A chunk still arriving when SIGTERM comes is received in full and acknowledged (and
    the token still works after the restart)."""
    server = wharf_factory()
    server.create_repo("grace/app")
    http = server.session()
    r = http.post(server.url + "/v2/grace/app/blobs/uploads/")
    location = r.headers["Location"]
    payload = os.urandom(4 << 20)
    sock = socket.create_connection(("127.0.0.1", server.port))
    authorization = server.auth_header()["Authorization"]
    head = (f"PATCH {location} HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: {len(payload)}\r\n"
            f"Authorization: {authorization}\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    sock.sendall(head + payload[: 1 << 20])
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    sock.sendall(payload[1 << 20:])
    response = sock.recv(4096).decode()
    sock.close()
    assert response.startswith("HTTP/1.1 202"), response
    assert server.proc.wait(timeout=15) == 0
    server.proc = None
    server.start()
    http = server.session()  # no pooled connection from before the restart
    status = http.get(server.url + location)
    assert status.status_code == 204 and status.headers["Range"] == f"0-{len(payload) - 1}"
    done = http.put(server.url + location, params={"digest": sha256(payload)})
    assert done.status_code == 201
    assert http.get(f"{server.url}/v2/grace/app/blobs/{sha256(payload)}").content == payload


def test_writes_to_a_repository_deleted_by_another_process(wharf):
    """`wharf repo delete` runs in another process: the server may still have the
    repository cached, but a write to it must answer NAME_UNKNOWN, never 500."""
    name = unique_name("gone")
    wharf.create_repo(name)
    client = Client(wharf)
    digest, body = client.push_image(name, "v1")  # the server now has it cached
    wharf.cli("repo", "delete", name, "--force")
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN", r.text
    r = client.post(f"/v2/{name}/blobs/uploads/", params={"digest": sha256(b"x")}, data=b"x")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN", r.text
    r = client.put(f"/v2/{name}/manifests/v2", data=body,
                   headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code in (400, 404), r.text  # its blobs went with the repository
    assert r.json()["errors"][0]["code"] in ("NAME_UNKNOWN", "MANIFEST_BLOB_UNKNOWN")


def test_referrers_are_paged_with_link(wharf_factory):
    """A long referrers list comes in pages of --max-page-size, chained by Link, each
    referrer exactly once, with the artifactType filter kept along the chain."""
    server = wharf_factory(extra_args=["--max-page-size", "2"])
    server.create_repo("paged/app")
    client = Client(server)
    subject_digest, subject_body = client.push_image("paged/app", "v1")
    subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject_digest,
               "size": len(subject_body)}
    pushed = {"application/x.sbom": set(), "application/x.sig": set()}
    for i in range(7):
        kind = "application/x.sbom" if i % 2 else "application/x.sig"
        digest, _ = client.push_image("paged/app", None, artifact_type=kind, subject=subject,
                                      annotations={"n": str(i)})
        pushed[kind].add(digest)

    def walk(url):
        seen, pages = [], 0
        while url:
            r = client.get(url)
            assert r.status_code == 200
            manifests = r.json()["manifests"]
            assert len(manifests) <= 2
            seen += [m["digest"] for m in manifests]
            pages += 1
            link = r.headers.get("Link")
            url = server.url + link.split(">")[0].lstrip("<") if link else None
        return seen, pages

    everything, pages = walk(f"{server.url}/v2/paged/app/referrers/{subject_digest}")
    assert sorted(everything) == sorted(pushed["application/x.sbom"] | pushed["application/x.sig"])
    assert pages == 4
    sboms, _ = walk(f"{server.url}/v2/paged/app/referrers/{subject_digest}?artifactType=application/x.sbom")
    assert sorted(sboms) == sorted(pushed["application/x.sbom"])


def test_deletes_that_would_break_references_are_refused(wharf, repo):
    """A blob a manifest uses, or a manifest an index lists, is not deleted (405
    UNSUPPORTED with the reason); once the referrer is gone the delete goes through."""
    client = Client(wharf)
    child, child_body = client.push_image(repo, "child")
    layers = json.loads(child_body)["layers"]
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": child, "size": len(child_body)}]}).encode()
    r = client.put(f"/v2/{repo}/manifests/multi", data=index,
                   headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    assert r.status_code == 201
    index_digest = r.headers["Docker-Content-Digest"]

    r = client.delete(f"/v2/{repo}/manifests/{child}")
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert "index" in r.json()["errors"][0]["message"]
    r = client.delete(f"/v2/{repo}/blobs/{layers[0]['digest']}")
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert client.get(f"/v2/{repo}/manifests/{child}").status_code == 200

    assert client.delete(f"/v2/{repo}/manifests/{index_digest}").status_code == 202
    assert client.delete(f"/v2/{repo}/manifests/{child}").status_code == 202
    assert client.delete(f"/v2/{repo}/blobs/{layers[0]['digest']}").status_code == 202


def test_unknown_endpoints_and_methods(wharf, repo):
    client = Client(wharf)
    r = client.get(f"/v2/{repo}/nothing/here")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
    r = client.post(f"/v2/{repo}/tags/list")
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
