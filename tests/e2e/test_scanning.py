"""Vulnerability scanning (issue 7), end to end: the advisory database (`wharf vulndb`), the
ECR scanning API through boto3 (registry and repository scanning configuration, StartImageScan,
DescribeImageScanFindings, the scan summary of DescribeImages, the `image_scan_complete`
waiter), scan on push, continuous rescans, `wharf scan`, and real-data scans.

Real data: the images come from scanimages.py (real PyPI wheels, Debian's and PyPI's builds of
shfmt, a Cargo.lock written by cargo, an rpm database written by rpm, this machine's dpkg
status), scanned against the real OSV exports in tests/data/vulndb plus Debian:12 records
written from the Debian security tracker. Every advisory id a test expects is first derived
from the data by scanimages.py's own OSV evaluation (not wharf's). Each real-data test also
checks the other side: the fixed variant of the image has no finding (for Debian: advisories
fixed at or below the installed versions are not reported).

ECR is the reference: BASIC scans OS packages only and reports `findings[]`; ENHANCED scans OS
and language packages and reports `enhancedFindings[]` (Inspector's shape); StartImageScan is
BASIC-only, once per image per 24 hours; switching the scan type hides the other type's
results; a non-image artifact is UNSUPPORTED_IMAGE.

Most tests share one private server per metadata backend (the scanning configuration is
registry-wide, so the shared `wharf` server of other suites is left alone); the
decompression bomb and the continuous rescans (which replace the database) get servers of
their own.
"""

from __future__ import annotations

import collections
import datetime
import functools
import json
import secrets
import time

import pytest
import requests
from botocore.exceptions import ClientError, WaiterError

import iamhelp as h
import images as im
import scanimages as si
from iamhelp import module_factory  # noqa: F401  (fixture)

MiB = 1 << 20
WAITER = {"Delay": 1, "MaxAttempts": 60}
ENHANCED_DONE = ("COMPLETE", "ACTIVE")  # Inspector-backed scans of ECR report ACTIVE
BASIC_OS_KEYS = ("package_name", "package_version")


# --------------------------------------------------------------------------- servers, data
@pytest.fixture(scope="module")
def srv(module_factory, backend):  # noqa: F811
    """On both metadata backends: the scan jobs, the database generations and the finding
    lookups are SQL of their own."""
    return h.serve(module_factory, backend=backend)


@pytest.fixture(scope="module")
def ecr(srv):
    return h.ecr(srv, h.admin_key(srv))


def cli_json(srv, *args, timeout: float = 300) -> dict:
    return json.loads(srv.cli(*args, timeout=timeout).stdout)


@pytest.fixture(scope="module")
def extra_zips(tmp_path_factory):
    """The advisory files written at test time: the Debian:12 records and the GHSA record."""
    d = tmp_path_factory.mktemp("vulndb-extra")
    return [si.write_osv_zip(d / "osv" / "Debian:12" / "all.zip", si.DEBIAN_RECORDS),
            si.write_osv_zip(d / "ghsa" / "PyPI" / "all.zip", [si.GHSA_REQUESTS])]


@pytest.fixture(scope="module")
def vulndb(srv, extra_zips):
    """Imports tests/data/vulndb and the extra zips into `srv`; returns the status before the
    import and the import's --json output."""
    before = cli_json(srv, "vulndb", "status", "--json")
    out = cli_json(srv, "vulndb", "import", si.VULNDB_DIR, *extra_zips, "--json")
    return {"before": before, "import": out}


def all_zips(extra_zips) -> list:
    return sorted(si.OSV_DIR.rglob("*.zip")) + list(extra_zips)


# --------------------------------------------------------------------------- helpers
def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def ensure_repo(ecr, repo: str) -> None:
    try:
        ecr.create_repository(repositoryName=repo)
    except ClientError as e:
        if e.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
            raise


def push(srv, ecr, repo: str, image, tag: str = "latest") -> str:
    ensure_repo(ecr, repo)
    return im.push_image(srv.url, repo, tag, image, session=srv.session())


def rule(frequency: str, *filters: str) -> dict:
    return {"scanFrequency": frequency,
            "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters]}


NO_MATCH = "no-repository-is-named-like-this*"


def configure(ecr, scan_type: str = "BASIC", *rules: dict) -> dict:
    return ecr.put_registry_scanning_configuration(scanType=scan_type, rules=list(rules))


def error_code(excinfo) -> str:
    return h.client_error(excinfo)[1]


def cli_scan(srv, ref: str) -> dict:
    """`wharf scan REF --json` (exit 0 expected: the scan completed)."""
    return cli_json(srv, "scan", ref, "--json", timeout=180)


def describe(ecr, repo: str, digest: str | None = None, tag: str | None = None, **kw) -> dict:
    image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
    return ecr.describe_image_scan_findings(repositoryName=repo, imageId=image_id, **kw)


def describe_all(ecr, repo: str, digest: str | None = None, tag: str | None = None) -> dict:
    """DescribeImageScanFindings with every page's findings joined."""
    out = describe(ecr, repo, digest, tag)
    findings = out.get("imageScanFindings", {})
    token = out.get("nextToken")
    while token:
        page = describe(ecr, repo, digest, tag, nextToken=token)
        for key in ("findings", "enhancedFindings"):
            findings.setdefault(key, []).extend(page.get("imageScanFindings", {}).get(key, []))
        token = page.get("nextToken")
    return out


def findings(out: dict) -> list:
    return out.get("imageScanFindings", {}).get("findings", []) or []


def enhanced(out: dict) -> list:
    return out.get("imageScanFindings", {}).get("enhancedFindings", []) or []


def basic_ids(out: dict) -> set[str]:
    return {f["name"] for f in findings(out)}


def enhanced_ids(out: dict) -> set[str]:
    return {f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in enhanced(out)}


def attributes(finding: dict) -> dict:
    return {a["key"]: a.get("value") for a in finding.get("attributes", [])}


def by_id(out: dict) -> dict[str, list]:
    """Findings (basic or enhanced) grouped by advisory id."""
    groups = collections.defaultdict(list)
    for f in findings(out):
        groups[f["name"]].append(f)
    for f in enhanced(out):
        groups[f["packageVulnerabilityDetails"]["vulnerabilityId"]].append(f)
    return groups


def status(out: dict) -> str:
    return out["imageScanStatus"]["status"]


def wait_status(ecr, repo: str, digest: str | None = None, tag: str | None = None,
                want=("COMPLETE",), timeout: float = 60) -> dict:
    """Polls DescribeImageScanFindings until the status is one of ``want``."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            out = describe_all(ecr, repo, digest, tag)
            last = out["imageScanStatus"]
            if last["status"] in want:
                return out
        except ClientError as e:
            last = h.client_error(e)
        time.sleep(0.5)
    raise AssertionError(f"{repo}@{digest or tag}: scan status never reached {want}; last: {last}")


def wait_complete(ecr, repo: str, digest: str) -> dict:
    """boto3's own waiter, then the findings."""
    ecr.get_waiter("image_scan_complete").wait(repositoryName=repo,
                                               imageId={"imageDigest": digest},
                                               WaiterConfig=WAITER)
    return describe_all(ecr, repo, digest)


def parse_time(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- images
@functools.lru_cache(maxsize=None)
def dpkg_image(drop: tuple = (), keep: tuple | None = None) -> im.Image:
    return im.build_image([si.busybox_layer(), si.dpkg_layer(drop, keep)])


def core_image() -> im.Image:
    """Real dpkg paragraphs of a few packages: quick to scan, for tests of the API."""
    return dpkg_image(keep=si.DPKG_CORE)


@functools.lru_cache(maxsize=None)
def rpm_image(fixed: bool = False, packages: tuple | None = None,
              platform: str = "linux/amd64") -> im.Image:
    arch = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}[platform]
    if packages is None:
        packages = si.alma_fixed() if fixed else si.ALMA_VULNERABLE
    os_release = si.almalinux_os_release("9.8") if fixed else si.ALMALINUX_92_OS_RELEASE
    return im.build_image([si.busybox_layer(), si.rpm_layer(packages, arch, os_release)],
                          platform=platform)


@functools.lru_cache(maxsize=None)
def python_image(version: str) -> im.Image:
    return im.build_image([si.busybox_layer(), si.python_layer("requests", version)])


@functools.lru_cache(maxsize=None)
def go_image(fixed: bool) -> im.Image:
    return im.build_image([si.busybox_layer(), si.go_layer(fixed)])


@functools.lru_cache(maxsize=None)
def cargo_image(fixed: bool) -> im.Image:
    return im.build_image([si.busybox_layer(), si.cargo_layer(fixed)])


@functools.lru_cache(maxsize=None)
def mixed_image() -> im.Image:
    return im.build_image([si.busybox_layer(), si.dpkg_layer(keep=si.DPKG_CORE),
                           si.python_layer("requests", "2.30.0"),
                           si.go_layer(False), si.cargo_layer(False)])


# The API tests' AlmaLinux packages: real data still (~16 advisories), but no subpackage, so that
# what they test does not hang on matching subpackages to their source (test_rpm_almalinux9).
API_RPMS = tuple(p for p in si.ALMA_VULNERABLE if p.name == p.src)

# --------------------------------------------------------------------------- expectations
@functools.lru_cache(maxsize=None)
def debian_expected(keep: tuple | None = None) -> dict[str, set[str]]:
    """{DEBIAN-CVE id: affected binary packages} on this machine (or among the ``keep``
    packages), checked against the premise the records were written for."""
    exp = si.expected_debian(status_text=si.dpkg_status_text(keep=keep))
    assert set(exp) == set(si.DEBIAN_AFFECTING), (
        f"this machine's dpkg status does not fit the Debian records' premise: {exp}")
    assert {"apt"} <= exp["DEBIAN-CVE-2011-3374"]
    assert {"libc6", "libc-bin"} <= exp["DEBIAN-CVE-2019-1010022"]
    assert {"libssl3"} <= exp["DEBIAN-CVE-2010-0928"]
    return exp


@functools.lru_cache(maxsize=None)
def rpm_expected(fixed: bool = False, packages: tuple | None = None) -> set[str]:
    if packages is None:
        packages = si.alma_fixed() if fixed else si.ALMA_VULNERABLE
    return set().union(*si.expected_ids_rpm(packages).values())


# ============================================================================ the database
def test_vulndb_import_and_status(srv, vulndb, extra_zips):
    assert vulndb["before"]["records"] == 0, vulndb["before"]
    out = vulndb["import"]
    total, per = si.osv_export_counts(all_zips(extra_zips))
    assert out["records"] == total, out
    assert out["kev"] == len(si.kev_cves()) == 1404, out
    for eco in ("PyPI", "Go", "crates.io", "Debian:12"):
        assert out["ecosystems"].get(eco) == per[eco], (eco, out["ecosystems"], per)
    assert 1746 <= out["ecosystems"]["AlmaLinux:9"] <= 1783, out["ecosystems"]
    parse_time(out["sourceUpdatedAt"])
    now = cli_json(srv, "vulndb", "status", "--json")
    assert {k: now[k] for k in ("records", "kev", "ecosystems", "sourceUpdatedAt")} == \
        {k: out[k] for k in ("records", "kev", "ecosystems", "sourceUpdatedAt")}, (now, out)
    assert srv.cli("vulndb", "status").stdout.strip()  # the plain form, for people


def test_malformed_database_is_rejected_and_the_old_one_kept(srv, ecr, vulndb, tmp_path):
    before = cli_json(srv, "vulndb", "status", "--json")
    bad = si.malformed_zip(tmp_path / "bad" / "PyPI" / "all.zip")
    good = si.write_osv_zip(tmp_path / "good" / "Debian:12" / "all.zip", si.DEBIAN_RECORDS)
    r = srv.cli("vulndb", "import", good, bad, check=False, timeout=300)
    assert r.returncode != 0, r.stdout
    assert "PYSEC-9999-1" in r.stderr, r.stderr  # names the broken record
    not_zip = tmp_path / "notzip" / "all.zip"
    not_zip.parent.mkdir()
    not_zip.write_bytes(b"this is not a zip file\n" * 10)
    r = srv.cli("vulndb", "import", not_zip, check=False, timeout=300)
    assert r.returncode != 0 and r.stderr.strip(), (r.stdout, r.stderr)
    r = srv.cli("vulndb", "import", tmp_path / "does-not-exist", check=False)
    assert r.returncode != 0 and r.stderr.strip(), (r.stdout, r.stderr)
    (tmp_path / "empty").mkdir()  # an empty set would empty the database: refused
    r = srv.cli("vulndb", "import", tmp_path / "empty", check=False)
    assert r.returncode != 0 and r.stderr.strip(), (r.stdout, r.stderr)
    assert cli_json(srv, "vulndb", "status", "--json") == before
    # and the database in use is still the whole previous one
    configure(ecr, "BASIC")
    repo = name("scan-afterbad")
    push(srv, ecr, repo, core_image())
    assert basic_ids(cli_scan(srv, f"{repo}:latest")) == set(debian_expected(si.DPKG_CORE))
    assert srv.running


# ============================================================================ configuration
def test_registry_scanning_configuration_and_filters(srv, ecr):
    for repo in ("prod", "prod-repo", "prodrepo", "repo-prod", "dev"):
        ensure_repo(ecr, repo)
    names = ["prod", "prod-repo", "prodrepo", "repo-prod", "dev"]

    def effective():
        out = ecr.batch_get_repository_scanning_configuration(repositoryNames=names)
        assert out.get("failures", []) == []
        return {c["repositoryName"]: c for c in out["scanningConfigurations"]}

    # with `*`: an anchored glob
    put = configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "prod*"))
    assert put["registryScanningConfiguration"] == {"scanType": "BASIC",
                                                     "rules": [rule("SCAN_ON_PUSH", "prod*")]}
    got = ecr.get_registry_scanning_configuration()
    assert got["registryId"] == srv.account_id
    assert got["scanningConfiguration"] == {"scanType": "BASIC", "rules": [rule("SCAN_ON_PUSH", "prod*")]}
    eff = effective()
    for repo in ("prod", "prod-repo", "prodrepo"):
        c = eff[repo]
        assert (c["scanOnPush"], c["scanFrequency"]) == (True, "SCAN_ON_PUSH"), c
        assert c["appliedScanFilters"] == [{"filter": "prod*", "filterType": "WILDCARD"}], c
        assert c["repositoryArn"] == h.repo_arn(repo, srv.account_id, srv.region), c
    for repo in ("repo-prod", "dev"):
        c = eff[repo]
        assert (c["scanOnPush"], c["scanFrequency"], c.get("appliedScanFilters", [])) == \
            (False, "MANUAL", []), c

    # without `*`: any name containing it
    configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "prod"))
    eff = effective()
    assert {r for r, c in eff.items() if c["scanOnPush"]} == {"prod", "prod-repo", "prodrepo", "repo-prod"}
    assert eff["dev"]["scanFrequency"] == "MANUAL"

    # enhanced: when both frequencies match a repository, continuous wins
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", "prod*"), rule("CONTINUOUS_SCAN", "repo"))
    got = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    assert got["scanType"] == "ENHANCED" and len(got["rules"]) == 2, got
    eff = effective()
    assert eff["prod"]["scanFrequency"] == "SCAN_ON_PUSH", eff["prod"]
    assert eff["prodrepo"]["scanFrequency"] == "CONTINUOUS_SCAN", eff["prodrepo"]
    assert eff["prod-repo"]["scanFrequency"] == "CONTINUOUS_SCAN", eff["prod-repo"]
    assert eff["repo-prod"]["scanFrequency"] == "CONTINUOUS_SCAN", eff["repo-prod"]
    assert {"filter": "repo", "filterType": "WILDCARD"} in eff["repo-prod"]["appliedScanFilters"]
    assert eff["dev"]["scanFrequency"] not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"), eff["dev"]
    assert eff["dev"].get("appliedScanFilters", []) == []

    # unknown repositories are failures, not errors
    out = ecr.batch_get_repository_scanning_configuration(repositoryNames=["prod", "no/such-repo"])
    assert [c["repositoryName"] for c in out["scanningConfigurations"]] == ["prod"]
    assert [(f["repositoryName"], f["failureCode"]) for f in out["failures"]] == \
        [("no/such-repo", "REPOSITORY_NOT_FOUND")], out
    configure(ecr, "BASIC")
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == \
        {"scanType": "BASIC", "rules": []}


# ============================================================================ StartImageScan
def test_start_image_scan_basic_once_per_day(srv, ecr, vulndb):
    configure(ecr, "BASIC")
    repo = name("scan-manual")
    digest = push(srv, ecr, repo, core_image())
    with pytest.raises(ClientError) as e:
        describe(ecr, repo, digest)
    assert error_code(e) == "ScanNotFoundException"
    out = ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "latest"})
    assert out["imageId"]["imageDigest"] == digest, out
    assert out["imageScanStatus"]["status"] in ("IN_PROGRESS", "COMPLETE"), out
    done = wait_complete(ecr, repo, digest)
    assert status(done) == "COMPLETE"
    assert basic_ids(done) == set(debian_expected(si.DPKG_CORE))
    assert done["imageScanFindings"]["imageScanCompletedAt"]
    # once per image per 24 hours
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    assert error_code(e) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "no-such-tag"})
    assert error_code(e) == "ImageNotFoundException"
    with pytest.raises(ClientError) as e:
        describe(ecr, repo, tag="no-such-tag")
    assert error_code(e) == "ImageNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName="no/such-repo", imageId={"imageTag": "latest"})
    assert error_code(e) == "RepositoryNotFoundException"


def test_start_image_scan_is_refused_under_enhanced(srv, ecr, vulndb):
    repo = name("scan-enh-manual")
    push(srv, ecr, repo, core_image())
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        with pytest.raises(ClientError) as e:
            ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "latest"})
        assert error_code(e) == "ValidationException"
    finally:
        configure(ecr, "BASIC")


def test_switching_scan_type_hides_the_other_results(srv, ecr, vulndb):
    configure(ecr, "BASIC")
    repo = name("scan-switch")
    digest = push(srv, ecr, repo, rpm_image(packages=API_RPMS))
    basic = cli_scan(srv, f"{repo}@{digest}")
    assert status(basic) == "COMPLETE" and basic_ids(basic) == rpm_expected(packages=API_RPMS)
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        with pytest.raises(ClientError) as e:
            describe(ecr, repo, digest)
        assert error_code(e) == "ScanNotFoundException"
        enh = cli_scan(srv, f"{repo}@{digest}")
        assert enhanced_ids(enh) == rpm_expected(packages=API_RPMS) and not findings(enh)
    finally:
        configure(ecr, "BASIC")
    back = describe_all(ecr, repo, digest)
    assert status(back) == "COMPLETE" and basic_ids(back) == rpm_expected(packages=API_RPMS)
    assert not enhanced(back)


# ============================================================================ scan on push
def test_scan_on_push_never_blocks_and_completes(srv, ecr, vulndb):
    configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "sop-*"))
    try:
        repo = name("sop")
        t0 = time.monotonic()
        digest = push(srv, ecr, repo, core_image())
        pushed_in = time.monotonic() - t0
        first = describe(ecr, repo, digest)  # right after the push: known, maybe not done
        assert status(first) in ("IN_PROGRESS", "COMPLETE"), first["imageScanStatus"]
        assert pushed_in < 15, pushed_in
        done = wait_complete(ecr, repo, digest)
        assert basic_ids(done) == set(debian_expected(si.DPKG_CORE))
        # a scan on push counts as the image's scan of the day
        with pytest.raises(ClientError) as e:
            ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
        assert error_code(e) == "LimitExceededException"
        # a repository that no filter matches is not scanned
        other = name("scan-nosop")
        other_digest = push(srv, ecr, other, core_image())
        time.sleep(2)
        with pytest.raises(ClientError) as e:
            describe(ecr, other, other_digest)
        assert error_code(e) == "ScanNotFoundException"
    finally:
        configure(ecr, "BASIC")


def test_legacy_repository_scan_on_push(srv, ecr, vulndb):
    configure(ecr, "BASIC")
    repo = name("scan-legacy")
    ensure_repo(ecr, repo)
    out = ecr.put_image_scanning_configuration(repositoryName=repo,
                                               imageScanningConfiguration={"scanOnPush": True})
    assert out["imageScanningConfiguration"] == {"scanOnPush": True}, out
    repo_desc = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert repo_desc["imageScanningConfiguration"] == {"scanOnPush": True}
    digest = push(srv, ecr, repo, rpm_image(packages=API_RPMS))
    done = wait_complete(ecr, repo, digest)
    assert basic_ids(done) == rpm_expected(packages=API_RPMS)


def test_multiarch_index_scans_every_platform(srv, ecr, vulndb):
    amd64_pkgs = tuple(p for p in API_RPMS if p.name in ("openssl", "tzdata"))
    arm64_pkgs = tuple(p for p in API_RPMS if p.name in ("sudo", "less"))
    amd64 = rpm_image(packages=amd64_pkgs, platform="linux/amd64")
    arm64 = rpm_image(packages=arm64_pkgs, platform="linux/arm64")
    want = {amd64.digest: rpm_expected(packages=amd64_pkgs),
            arm64.digest: rpm_expected(packages=arm64_pkgs)}
    assert want[amd64.digest] and want[arm64.digest] and not want[amd64.digest] & want[arm64.digest]
    configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "multi-*"))
    try:
        repo = name("multi")
        index = im.build_index([amd64, arm64])
        push(srv, ecr, repo, index, tag="v1")
        for child in (amd64, arm64):
            done = wait_complete(ecr, repo, child.digest)
            assert basic_ids(done) == want[child.digest], child.platform
        top = wait_status(ecr, repo, tag="v1")
        assert basic_ids(top) == want[amd64.digest] | want[arm64.digest]
    finally:
        configure(ecr, "BASIC")


def test_artifacts_are_unsupported(srv, ecr, vulndb):
    configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "art-*"))
    try:
        repo = name("art")
        digest = push(srv, ecr, repo, si.helm_artifact(repo))
        out = wait_status(ecr, repo, digest, want=("UNSUPPORTED_IMAGE", "COMPLETE", "FAILED"))
        assert status(out) == "UNSUPPORTED_IMAGE", out["imageScanStatus"]
        assert not findings(out) and not enhanced(out)
    finally:
        configure(ecr, "BASIC")
    manual = name("scan-art-manual")
    push(srv, ecr, manual, si.helm_artifact(manual))
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName=manual, imageId={"imageTag": "latest"})
    assert error_code(e) == "UnsupportedImageTypeException"


# ============================================================================ real data
def test_dpkg_debian12_real_status(srv, ecr, vulndb):
    """This machine's dpkg status (Debian 12) against the Debian:12 records: the three
    unfixed tracker entries are found, the three fixed at or below the installed versions
    are not; glibc's and openssl's are found through the binary packages' Source field."""
    expected = debian_expected()
    configure(ecr, "BASIC")
    repo = name("scan-dpkg")
    push(srv, ecr, repo, dpkg_image())
    out = cli_scan(srv, f"{repo}:latest")
    assert status(out) == "COMPLETE"
    assert basic_ids(out) == set(si.DEBIAN_AFFECTING), basic_ids(out)
    assert not basic_ids(out) & set(si.DEBIAN_FIXED)
    installed = si.dpkg_installed()
    sources = {"DEBIAN-CVE-2011-3374": "apt", "DEBIAN-CVE-2019-1010022": "glibc",
               "DEBIAN-CVE-2010-0928": "openssl"}
    for rid, group in by_id(out).items():
        for f in group:
            a = attributes(f)
            assert all(a.get(k) for k in BASIC_OS_KEYS), f
            pkg = a["package_name"]
            # ECR names the binary package or, as Clair did, the source package
            assert pkg in expected[rid] | {sources[rid]}, (rid, pkg)
            if pkg in installed:
                assert a["package_version"] == installed[pkg][0], (rid, a)
            assert f["severity"] in ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNDEFINED")
    score, vector = si.DEBIAN_CVSS["DEBIAN-CVE-2019-1010022"]
    for f in by_id(out)["DEBIAN-CVE-2019-1010022"]:
        a = attributes(f)
        assert (a.get("CVSS3_SCORE"), a.get("CVSS3_VECTOR")) == (score, vector), a
        assert str(si.cvss3_base_score(vector)) == score
        assert f["severity"] == "CRITICAL", f
    counts = out["imageScanFindings"]["findingSeverityCounts"]
    assert counts == dict(collections.Counter(f["severity"] for f in findings(out)))

    # Without the `openssl` binary package's paragraph, openssl's advisory is still found,
    # through libssl3's `Source: openssl`.
    filtered = name("scan-dpkg-nossl")
    push(srv, ecr, filtered, dpkg_image(keep=tuple(p for p in si.DPKG_CORE if p != "openssl")))
    out = cli_scan(srv, f"{filtered}:latest")
    assert basic_ids(out) == set(si.DEBIAN_AFFECTING)
    names = {attributes(f)["package_name"] for f in by_id(out)["DEBIAN-CVE-2010-0928"]}
    assert names and names <= {"libssl3", "libssl-dev", "openssl"}, names


def test_rpm_almalinux9(srv, ecr, vulndb):
    """An rpm database (Debian's rpm 4.18, sqlite) with AlmaLinux 9 packages against the
    AlmaLinux:9 data: the ALSA advisories whose fixed versions are above the installed ones,
    with AlmaLinux's own severity; none once every package is at its latest fix."""
    want = rpm_expected()
    assert {"ALSA-2024:2447", "ALSA-2024:0310", "ALSA-2024:0811", "ALSA-2024:1692",
            "ALSA-2024:3513"} <= want, want
    # fixed exactly at the installed version: not affected
    assert not {"ALSA-2023:3722", "ALSA-2023:0282", "ALSA-2023:3725"} & want
    configure(ecr, "BASIC")
    repo = name("scan-rpm")
    digest = push(srv, ecr, repo, rpm_image())
    out = cli_scan(srv, f"{repo}@{digest}")
    assert status(out) == "COMPLETE"
    assert basic_ids(out) == want, (basic_ids(out) ^ want)
    installed = {p.name: p.evr for p in si.ALMA_VULNERABLE}
    per_package = si.expected_ids_rpm(si.ALMA_VULNERABLE)
    for rid, group in by_id(out).items():
        for f in group:
            a = attributes(f)
            assert a["package_name"] in installed and rid in per_package[a["package_name"]], (rid, a)
            evr = installed[a["package_name"]]
            assert a["package_version"] in (evr, evr.split(":", 1)[-1]), (rid, a)
            assert f["severity"] == si.alma_severity(rid), (rid, f["severity"])
            assert rid.replace(":", "-") in f.get("uri", "") or f.get("uri", "").startswith("http"), f
    fixed_repo = name("scan-rpm-fixed")
    push(srv, ecr, fixed_repo, rpm_image(fixed=True))
    assert rpm_expected(fixed=True) == set()
    out = cli_scan(srv, f"{fixed_repo}:latest")
    assert status(out) == "COMPLETE" and findings(out) == [], basic_ids(out)
    assert not out["imageScanFindings"].get("findingSeverityCounts")


def test_enhanced_scans_os_packages_too(srv, ecr, vulndb):
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        repo = name("scan-enh-rpm")
        push(srv, ecr, repo, rpm_image())
        out = cli_scan(srv, f"{repo}:latest")
    finally:
        configure(ecr, "BASIC")
    assert status(out) in ENHANCED_DONE
    assert enhanced_ids(out) == rpm_expected() and not findings(out)
    installed = {p.name: p.evr for p in si.ALMA_VULNERABLE}
    for f in enhanced(out):
        assert f["type"] == "PACKAGE_VULNERABILITY" and f["status"] == "ACTIVE", f
        assert f["fixAvailable"] == "YES", f
        for p in f["packageVulnerabilityDetails"]["vulnerablePackages"]:
            assert p["packageManager"] == "OS", p
            assert p["name"] in installed, p
            assert p.get("fixedInVersion"), p


def test_python_package_pypi(srv, ecr, vulndb):
    """requests 2.30.0 from PyPI: PYSEC-2023-74 (and GHSA-j8r2-6x86-q33q, the same advisory:
    one finding); requests 2.31.0: nothing. BASIC scans OS packages only."""
    assert si.expected_ids_pypi("requests", "2.30.0") == {"PYSEC-2023-74"}
    assert si.expected_ids_pypi("requests", "2.30.0", [si.GHSA_REQUESTS]) == \
        {"PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"}
    assert si.expected_ids_pypi("requests", "2.31.0", [si.GHSA_REQUESTS]) == set()
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        repo, fixed_repo = name("scan-py"), name("scan-py-fixed")
        push(srv, ecr, repo, python_image("2.30.0"))
        push(srv, ecr, fixed_repo, python_image("2.31.0"))
        out = cli_scan(srv, f"{repo}:latest")
        fixed = cli_scan(srv, f"{fixed_repo}:latest")
    finally:
        configure(ecr, "BASIC")
    assert len(enhanced(out)) == 1, enhanced_ids(out)
    f = enhanced(out)[0]
    details = f["packageVulnerabilityDetails"]
    assert details["vulnerabilityId"] in ("PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"), details
    (pkg,) = details["vulnerablePackages"]
    assert (pkg["name"].lower(), pkg["version"], pkg["fixedInVersion"], pkg["packageManager"]) == \
        ("requests", "2.30.0", "2.31.0", "PYTHONPKG"), pkg
    assert pkg["filePath"].lstrip("/") == si.dist_info_dir("requests", "2.30.0") + "/METADATA", pkg
    assert (f["fixAvailable"], f["exploitAvailable"], f["status"]) == ("YES", "NO", "ACTIVE"), f
    assert status(fixed) in ENHANCED_DONE and enhanced(fixed) == [], enhanced_ids(fixed)


def test_go_binary_stdlib(srv, ecr, vulndb):
    """Debian's shfmt (built with go1.19.8) has the Go stdlib advisories of 1.19.8, among
    them GO-2023-1751/1752/1753 (fixed in 1.19.9) and GO-2023-1840 (1.19.10); the same
    program built upstream with go1.27.1 (PyPI's shfmt-py) has none."""
    stdlib, want = si.expected_ids_go(fixed=False)
    assert stdlib == "1.19.8"
    assert {"GO-2023-1751", "GO-2023-1752", "GO-2023-1753", "GO-2023-1840"} <= want
    assert si.expected_ids_go(fixed=True) == ("1.27.1", set())
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        repo, fixed_repo = name("scan-go"), name("scan-go-fixed")
        push(srv, ecr, repo, go_image(False))
        push(srv, ecr, fixed_repo, go_image(True))
        out = cli_scan(srv, f"{repo}:latest")
        fixed = cli_scan(srv, f"{fixed_repo}:latest")
    finally:
        configure(ecr, "BASIC")
    got = enhanced_ids(out)
    assert got == want, f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"
    (f,) = by_id(out)["GO-2023-1751"]
    (pkg,) = f["packageVulnerabilityDetails"]["vulnerablePackages"]
    assert (pkg["name"], pkg["version"].removeprefix("go").removeprefix("v"), pkg["packageManager"]) == \
        ("stdlib", "1.19.8", "GOBINARY"), pkg
    assert "1.19.9" in pkg["fixedInVersion"], pkg
    assert pkg["filePath"].lstrip("/") == "usr/bin/shfmt", pkg
    assert status(fixed) in ENHANCED_DONE and enhanced(fixed) == [], enhanced_ids(fixed)


def test_cargo_lock_rustsec_and_kev(srv, ecr, vulndb):
    """A Cargo.lock pinning smallvec 1.6.0, regex 1.5.4 and libwebp-sys 0.9.2:
    RUSTSEC-2021-0003, RUSTSEC-2022-0013, RUSTSEC-2023-0061; the last is CVE-2023-4863,
    which is in CISA's KEV list, so an exploit is known. The fixed lock file: nothing."""
    want = {"smallvec 1.6.0": {"RUSTSEC-2021-0003"}, "regex 1.5.4": {"RUSTSEC-2022-0013"},
            "libwebp-sys 0.9.2": {"RUSTSEC-2023-0061"}}
    assert si.expected_ids_cargo(fixed=False) == want
    assert si.expected_ids_cargo(fixed=True) == {}
    kev = si.kev_cves()
    assert "CVE-2023-4863" in set(si.record_by_id("crates.io", "RUSTSEC-2023-0061")["aliases"]) & kev
    for rid in ("RUSTSEC-2021-0003", "RUSTSEC-2022-0013"):
        assert not set(si.record_by_id("crates.io", rid)["aliases"]) & kev
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        repo, fixed_repo = name("scan-cargo"), name("scan-cargo-fixed")
        push(srv, ecr, repo, cargo_image(False))
        push(srv, ecr, fixed_repo, cargo_image(True))
        out = cli_scan(srv, f"{repo}:latest")
        fixed = cli_scan(srv, f"{fixed_repo}:latest")
    finally:
        configure(ecr, "BASIC")
    assert enhanced_ids(out) == set().union(*want.values())
    fixes = {"RUSTSEC-2021-0003": ("smallvec", "1.6.0", "1.6.1"),
             "RUSTSEC-2022-0013": ("regex", "1.5.4", "1.5.5"),
             "RUSTSEC-2023-0061": ("libwebp-sys", "0.9.2", "0.9.3")}
    for rid, (crate, version, fix) in fixes.items():
        (f,) = by_id(out)[rid]
        (pkg,) = f["packageVulnerabilityDetails"]["vulnerablePackages"]
        assert (pkg["name"], pkg["version"], pkg["fixedInVersion"], pkg["packageManager"]) == \
            (crate, version, fix, "CARGO"), pkg
        assert pkg["filePath"].lstrip("/") == si.CARGO_LOCK_PATH, pkg
        assert f["exploitAvailable"] == ("YES" if rid == "RUSTSEC-2023-0061" else "NO"), (rid, f)
        assert f["fixAvailable"] == "YES", f
        vectors = [s["score"] for s in si.record_by_id("crates.io", rid).get("severity", [])]
        if vectors:
            score = si.cvss3_base_score(vectors[0])
            assert f["severity"] == si.severity_of_score(score), (rid, f["severity"], score)
            cvss = f["packageVulnerabilityDetails"].get("cvss", [])
            assert any(c.get("scoringVector") == vectors[0] and float(c.get("baseScore")) == score
                       for c in cvss), (rid, cvss)
        else:
            assert f["severity"] == "UNDEFINED", (rid, f["severity"])
    assert status(fixed) in ENHANCED_DONE and enhanced(fixed) == [], enhanced_ids(fixed)


def test_basic_scans_os_packages_only_enhanced_everything(srv, ecr, vulndb):
    """One image with Debian packages, a Python package, a Go binary and a Cargo.lock: BASIC
    reports the Debian advisories only; ENHANCED reports them and the language ones."""
    image = mixed_image()
    _, go_ids = si.expected_ids_go(fixed=False)
    language = {"PYSEC-2023-74", "RUSTSEC-2021-0003", "RUSTSEC-2022-0013", "RUSTSEC-2023-0061"} | go_ids
    configure(ecr, "BASIC")
    repo = name("scan-mixed")
    push(srv, ecr, repo, image)
    basic = cli_scan(srv, f"{repo}:latest")
    assert status(basic) == "COMPLETE" and not enhanced(basic)
    assert basic_ids(basic) == set(debian_expected(si.DPKG_CORE)), basic_ids(basic) & language
    configure(ecr, "ENHANCED", rule("SCAN_ON_PUSH", NO_MATCH))
    try:
        enh_repo = name("scan-mixed-enh")
        push(srv, ecr, enh_repo, image)
        out = cli_scan(srv, f"{enh_repo}:latest")
    finally:
        configure(ecr, "BASIC")
    assert status(out) in ENHANCED_DONE and not findings(out)
    got = enhanced_ids(out)
    # requests' advisory is one finding under either of its two ids
    got = {"PYSEC-2023-74" if i == "GHSA-j8r2-6x86-q33q" else i for i in got}
    assert got == set(debian_expected(si.DPKG_CORE)) | language, got ^ (set(debian_expected(si.DPKG_CORE)) | language)
    managers = {p["packageManager"] for f in enhanced(out)
                for p in f["packageVulnerabilityDetails"]["vulnerablePackages"]}
    assert managers == {"OS", "PYTHONPKG", "GOBINARY", "CARGO"}, managers


# ============================================================================ results
def test_findings_paging_and_describe_images_summary(srv, ecr, vulndb):
    configure(ecr, "BASIC")
    repo = name("scan-paging")
    digest = push(srv, ecr, repo, rpm_image(packages=API_RPMS))
    full = cli_scan(srv, f"{repo}@{digest}")
    names = sorted(f["name"] + "|" + attributes(f)["package_name"] for f in findings(full))
    assert len(names) > 8, names
    pages, token, seen = 0, None, []
    while True:
        kw = {"maxResults": 4}
        if token:
            kw["nextToken"] = token
        page = describe(ecr, repo, digest, **kw)
        got = findings(page)
        assert 0 < len(got) <= 4 or (not got and pages == 0), len(got)
        assert status(page) == "COMPLETE"
        assert page["imageScanFindings"]["findingSeverityCounts"] == \
            full["imageScanFindings"]["findingSeverityCounts"]
        seen += [f["name"] + "|" + attributes(f)["package_name"] for f in got]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == names and len(set(seen)) == len(seen)
    assert pages == -(-len(names) // 4)
    counts = dict(collections.Counter(f["severity"] for f in findings(full)))
    assert full["imageScanFindings"]["findingSeverityCounts"] == counts

    api = describe(ecr, repo, digest)
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE", detail
    summary = detail["imageScanFindingsSummary"]
    assert summary["findingSeverityCounts"] == counts
    assert summary["imageScanCompletedAt"] == api["imageScanFindings"]["imageScanCompletedAt"]
    source = cli_json(srv, "vulndb", "status", "--json")["sourceUpdatedAt"]
    for when in (summary["vulnerabilitySourceUpdatedAt"],
                 api["imageScanFindings"]["vulnerabilitySourceUpdatedAt"]):
        assert abs((parse_time(when) - parse_time(source)).total_seconds()) < 1, (when, source)
    # an image never scanned has no summary
    other = name("scan-unscanned")
    other_digest = push(srv, ecr, other, rpm_image(packages=API_RPMS))
    detail = ecr.describe_images(repositoryName=other, imageIds=[{"imageDigest": other_digest}])["imageDetails"][0]
    assert "imageScanFindingsSummary" not in detail, detail


def test_cli_scan_json_matches_the_api(srv, ecr, vulndb):
    configure(ecr, "BASIC")
    repo = name("scan-cli")
    digest = push(srv, ecr, repo, rpm_image(packages=API_RPMS))
    out = cli_scan(srv, f"{repo}:latest")
    assert set(out) >= {"imageScanStatus", "imageScanFindings"}, sorted(out)
    api = describe_all(ecr, repo, digest)
    key = lambda f: (f["name"], attributes(f)["package_name"])  # noqa: E731
    assert sorted(map(key, findings(out))) == sorted(map(key, findings(api)))
    assert out["imageScanFindings"]["findingSeverityCounts"] == \
        api["imageScanFindings"]["findingSeverityCounts"]
    assert status(out) == status(api) == "COMPLETE"
    # the table, for people, names the advisories
    text = srv.cli("scan", f"{repo}:latest", timeout=180).stdout
    for rid in rpm_expected(packages=API_RPMS):
        assert rid in text, (rid, text[:2000])
    r = srv.cli("scan", f"{repo}:no-such-tag", check=False)
    assert r.returncode != 0 and r.stderr.strip()
    # every scan that ended is an EventBridge-shaped "ECR Image Scan" event
    lines = srv.cli("events", "--repository", repo, "--json").stdout.splitlines()
    scans = [json.loads(line) for line in lines]
    assert scans and all(e["detail-type"] == "ECR Image Scan" for e in scans), scans
    detail = scans[-1]["detail"]
    assert (detail["scan-status"], detail["image-digest"], detail["image-tags"]) == \
        ("COMPLETE", digest, ["latest"])
    assert detail["finding-severity-counts"] == out["imageScanFindings"]["findingSeverityCounts"]


def test_a_rescan_keeps_first_sightings(srv, ecr, vulndb):
    """A new scan of the same image (here `wharf scan`, which requeues it) is merged with the
    last one: findings seen again keep `firstObservedAt` and move `lastObservedAt`."""
    configure(ecr, "ENHANCED")
    repo = name("rescan")
    push(srv, ecr, repo, python_image("2.30.0"))
    first = {f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in enhanced(cli_scan(srv, f"{repo}:latest"))}
    assert first
    time.sleep(1.1)
    second = {f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in enhanced(cli_scan(srv, f"{repo}:latest"))}
    assert set(second) == set(first)
    for rid, f in second.items():
        assert f["status"] == "ACTIVE"
        assert parse_time(f["firstObservedAt"]) == parse_time(first[rid]["firstObservedAt"]), rid
        assert parse_time(f["lastObservedAt"]) > parse_time(first[rid]["lastObservedAt"]), rid


# ============================================================================ hostile input
def test_decompression_bomb_fails_and_server_is_unharmed(wharf_factory, tmp_path):
    srv = h.serve(wharf_factory, extra_args=["--scan-max-layer-bytes", str(64 * MiB)])
    ecr = h.ecr(srv, h.admin_key(srv))
    deb = si.write_osv_zip(tmp_path / "Debian:12" / "all.zip", si.DEBIAN_RECORDS)
    srv.cli("vulndb", "import", deb)
    configure(ecr, "BASIC", rule("SCAN_ON_PUSH", "bomb-*"))
    bomb = si.bomb_layer()
    assert len(bomb.data) < 1 * MiB
    image = im.build_image([si.busybox_layer(), bomb])
    repo = name("bomb")
    t0 = time.monotonic()
    digest = push(srv, ecr, repo, image)
    assert time.monotonic() - t0 < 15
    with pytest.raises(WaiterError):
        ecr.get_waiter("image_scan_complete").wait(repositoryName=repo,
                                                   imageId={"imageDigest": digest},
                                                   WaiterConfig=WAITER)
    out = describe(ecr, repo, digest)
    assert status(out) == "FAILED", out["imageScanStatus"]
    assert out["imageScanStatus"].get("description", "").strip(), out["imageScanStatus"]
    # `wharf scan` runs the scan in its own process, with its own limit
    r = srv.cli("--scan-max-layer-bytes", str(64 * MiB), "scan", f"{repo}:latest", "--json",
                check=False, timeout=180)
    assert r.returncode != 0, r.stdout[:2000]
    # the server is unharmed: it answers, takes pushes and scans them
    assert srv.running
    assert requests.get(srv.url + "/v2/", timeout=5).status_code == 401
    ok = name("bomb-ok")
    ok_digest = push(srv, ecr, ok, core_image())
    done = wait_complete(ecr, ok, ok_digest)
    assert basic_ids(done) == set(debian_expected(si.DPKG_CORE))


def test_no_database_fails_then_a_retry_and_archived_images(wharf_factory, tmp_path):
    """A scan before any database is imported ends FAILED saying so; a failed scan may be
    started again at once (the 24-hour rule counts scans that did not fail); an archived image
    cannot be scanned."""
    srv = h.serve(wharf_factory)
    ecr = h.ecr(srv, h.admin_key(srv))
    assert cli_json(srv, "vulndb", "status", "--json")["records"] == 0
    repo = name("nodb")
    digest = push(srv, ecr, repo, core_image())
    r = srv.cli("scan", f"{repo}:latest", "--json", check=False, timeout=180)
    assert r.returncode != 0
    failed = json.loads(r.stdout)
    assert status(failed) == "FAILED", failed
    assert "wharf vulndb import" in failed["imageScanStatus"]["description"], failed
    assert "imageScanFindings" not in failed

    deb = si.write_osv_zip(tmp_path / "Debian:12" / "all.zip", si.DEBIAN_RECORDS)
    srv.cli("vulndb", "import", deb)
    ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    done = wait_complete(ecr, repo, digest)
    assert basic_ids(done) == set(debian_expected(si.DPKG_CORE))
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    assert error_code(e) == "LimitExceededException"

    other = name("archived")
    archived = push(srv, ecr, other, core_image())
    ecr.update_image_storage_class(repositoryName=other, imageId={"imageDigest": archived},
                                   targetStorageClass="ARCHIVE")
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName=other, imageId={"imageDigest": archived})
    assert error_code(e) == "ImageArchivedException"


# ============================================================================ continuous scans
def test_continuous_rescan_after_database_updates(wharf_factory, tmp_path):
    """ENHANCED + CONTINUOUS_SCAN: a database that adds an advisory adds its finding to the
    image already scanned, without a push; one without it closes the finding."""
    srv = h.serve(wharf_factory)
    ecr = h.ecr(srv, h.admin_key(srv))
    assert cli_json(srv, "vulndb", "status", "--json")["records"] == 0
    added = "DEBIAN-CVE-2011-3374"
    without = [r for r in si.DEBIAN_RECORDS if r["id"] != added]
    db0 = si.write_osv_zip(tmp_path / "db0" / "Debian:12" / "all.zip", without)
    db1 = si.write_osv_zip(tmp_path / "db1" / "Debian:12" / "all.zip", si.DEBIAN_RECORDS)
    assert cli_json(srv, "vulndb", "import", db0, "--json")["records"] == len(without)
    configure(ecr, "ENHANCED", rule("CONTINUOUS_SCAN", "cont-*"))
    repo = name("cont")
    digest = push(srv, ecr, repo, core_image())
    out = wait_status(ecr, repo, digest, want=ENHANCED_DONE)
    assert enhanced_ids(out) == set(debian_expected(si.DPKG_CORE)) - {added}
    first_completed = out["imageScanFindings"].get("imageScanCompletedAt")

    assert cli_json(srv, "vulndb", "import", db1, "--json")["records"] == len(si.DEBIAN_RECORDS)
    deadline = time.monotonic() + 30
    while True:
        out = describe_all(ecr, repo, digest)
        if added in enhanced_ids(out):
            break
        assert time.monotonic() < deadline, f"{added} never appeared: {enhanced_ids(out)}"
        time.sleep(0.5)
    assert {f["status"] for f in by_id(out)[added]} == {"ACTIVE"}
    assert enhanced_ids(out) == set(debian_expected(si.DPKG_CORE))
    if first_completed:
        assert out["imageScanFindings"]["imageScanCompletedAt"] >= first_completed

    cli_json(srv, "vulndb", "import", db0, "--json")
    deadline = time.monotonic() + 30
    while True:
        out = describe_all(ecr, repo, digest)
        closed = {f["status"] for f in by_id(out).get(added, [])}
        if closed == {"CLOSED"}:
            break
        assert time.monotonic() < deadline, f"{added} not closed: {closed}"
        time.sleep(0.5)
    for rid in set(debian_expected(si.DPKG_CORE)) - {added}:
        assert {f["status"] for f in by_id(out)[rid]} == {"ACTIVE"}, rid
    # the image was scanned again without being pushed again
    assert [d["imageDigest"] for d in
            ecr.describe_images(repositoryName=repo)["imageDetails"]] == [digest]
