"""What the very first start of a data directory creates, and what later starts leave alone.

What this proves:
* the first start creates the default account (000000000000, or `--account-id`), an IAM user
  `admin` allowed everything, and writes its access key to `<data_dir>/admin-credentials`
  (AWS credentials-file format, `[default]`, mode 0600) and a master key to
  `<data_dir>/master.key` (64 hex digits, mode 0600; `--master-key-file` moves it);
* the key in the file works (boto3 GetCallerIdentity) and its secret is not in the log;
* a second start does not rewrite the credentials file (same bytes, same inode, same mtime),
  nor create a second administrator; a deleted credentials file is not recreated (the
  account exists: the key was shown once);
* the master key is needed to read stored secrets: the same data with another master key
  refuses every stored access key.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import iamhelp as h


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_the_administrator(wharf_factory):
    srv = h.serve(wharf_factory)
    creds, master = Path(srv.data_dir) / "admin-credentials", Path(srv.data_dir) / "master.key"
    assert creds.is_file() and mode(creds) == 0o600, oct(mode(creds))
    assert master.is_file() and mode(master) == 0o600, oct(mode(master))
    assert re.fullmatch(r"[0-9a-f]{64}\n?", master.read_text()), "master.key is not 64 hex digits"

    text = creds.read_text()
    assert re.search(r"^\[default\]$", text, re.M), text
    key = h.parse_credentials(text)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key.access_key_id), key.access_key_id
    assert len(key.secret_access_key) == 40
    ident = h.sts(srv, key).get_caller_identity()
    assert ident["Arn"] == h.user_arn("admin") and ident["Account"] == h.DEFAULT_ACCOUNT
    # allowed everything: an ECR call on the administrator's own registry works
    assert h.ecr(srv, key).get_authorization_token()["authorizationData"]

    users = h.admin(srv, "user", "list").stdout.split("\n")
    assert [u.split("\t")[0] for u in users if u] == ["admin"]
    assert h.admin(srv, "account", "list").stdout.split() == [h.DEFAULT_ACCOUNT]
    assert h.admin(srv, "access-key", "list", "--user", "admin").stdout.strip() == \
        f"{key.access_key_id}\tActive"
    assert "AdministratorAccess" in h.admin(srv, "policy", "list", "--user", "admin").stdout

    log = Path(srv.log_path).read_text()
    assert "admin-credentials" in log  # it says where the key is …
    h.assert_no_secret(log, [key.secret_access_key, master.read_text().strip()], "server log")


def test_second_start_keeps_the_credentials_file(wharf_factory):
    srv = h.serve(wharf_factory)
    creds = Path(srv.data_dir) / "admin-credentials"
    before = creds.read_bytes()
    st = creds.stat()
    master_before = (Path(srv.data_dir) / "master.key").read_bytes()
    h.restart(srv)
    st2 = creds.stat()
    assert creds.read_bytes() == before
    assert (st2.st_ino, st2.st_mtime_ns, mode(creds)) == (st.st_ino, st.st_mtime_ns, 0o600)
    assert (Path(srv.data_dir) / "master.key").read_bytes() == master_before
    key = h.parse_credentials(before.decode())
    assert h.sts(srv, key).get_caller_identity()["Arn"] == h.user_arn("admin")
    assert h.admin(srv, "access-key", "list", "--user", "admin").stdout.count("\n") == 1
    h.assert_no_secret(Path(srv.log_path).read_text(), [key.secret_access_key], "server log")

    # a deleted credentials file is not recreated: the secret was shown once
    creds.unlink()
    h.restart(srv)
    assert not creds.exists()
    assert h.sts(srv, key).get_caller_identity()["Arn"] == h.user_arn("admin")


def test_account_id_option(wharf_factory):
    srv = h.serve(wharf_factory, ["--account-id", "123456789012"])
    key = h.admin_key(srv)
    ident = h.sts(srv, key).get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::123456789012:user/admin"
    assert ident["Account"] == "123456789012"
    assert h.admin(srv, "account", "list").stdout.split() == ["123456789012"]


def test_master_key_file_option_and_a_wrong_master_key(wharf_factory, tmp_path):
    keyfile = tmp_path / "keys" / "wharf.key"
    keyfile.parent.mkdir()
    srv = h.serve(wharf_factory, ["--master-key-file", str(keyfile)])
    assert keyfile.is_file() and mode(keyfile) == 0o600
    assert not (Path(srv.data_dir) / "master.key").exists()
    key = h.admin_key(srv)
    assert h.sts(srv, key).get_caller_identity()["Arn"] == h.user_arn("admin")
    pw = h.token(srv, key)
    srv.stop()

    # the same data with another master key: stored secrets do not open, tokens do not verify
    other = tmp_path / "other.key"
    srv.extra_args = ["--master-key-file", str(other)]
    h.start(srv)
    assert other.is_file()
    r = h.ecr_call(srv, "GetAuthorizationToken", {}, key=key)
    assert h.api_error(r)[:2] == (400, "UnrecognizedClientException"), r.text
    h.assert_v2_error(h.V2(srv, pw).req("GET", "/v2/"), 401, "UNAUTHORIZED")
    assert (Path(srv.data_dir) / "admin-credentials").read_text().count("aws_access_key_id") == 1
    h.assert_no_secret(Path(srv.log_path).read_text(),
                       [key.secret_access_key, keyfile.read_text().strip(),
                        other.read_text().strip(), pw], "server log")
