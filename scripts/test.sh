#!/usr/bin/env bash
# wharf: run every test. The README's single test command; .ci/run calls it.
#
#   scripts/test.sh [PYTEST_ARGS...]
#
# Steps (each one is reported; the script goes on after a failure where that still makes
# sense and exits non-zero if any step failed):
#   setup      apt-get install the Debian packages the tests need (only missing ones),
#              pip install -r tests/requirements.txt (only if something is missing),
#              start a throw-away PostgreSQL cluster (unless WHARF_TEST_PG_URL is given)
#   fmt        cargo fmt --all -- --check
#   build      cargo build --release --workspace --all-targets --locked
#   clippy     cargo clippy --workspace --all-targets --release --locked -- -D warnings
#   test       cargo test --release --workspace --locked   (reads WHARF_TEST_PG_URL)
#   e2e        python -m pytest tests/e2e                    (extra args are passed on)
#
# Environment knobs:
#   WHARF_TEST_PG_URL=postgres://...  use this PostgreSQL instead of starting one
#   SKIP_SETUP=1    no apt-get/pip (assume the machine is ready); PostgreSQL still starts
#   SKIP_RUST=1     skip fmt/build/clippy/cargo test (use an existing target/release/wharf)
#   SKIP_LINT=1     skip fmt and clippy
#   SKIP_E2E=1      skip the pytest suite
#   PYTHON=...      interpreter for the e2e suite (default: python3 on PATH)
#   WHARF_E2E_TIMEOUT=seconds  hard cap for the whole pytest run (default 1800)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_PROGRESS_WHEN=never
# test servers listen on 127.0.0.1: never send that through a proxy
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
START_TS=$(date +%s)
FAILED=()
RESULTS=()

# ------------------------------------------------------------------------------ helpers
if [ -t 1 ]; then BOLD=$'\033[1m'; RESET=$'\033[0m'; else BOLD=""; RESET=""; fi
section() { printf '\n%s========== %s ==========%s\n' "$BOLD" "$*" "$RESET"; }
note() { printf '[test.sh] %s\n' "$*"; }

# run_step NAME CMD...: run, time and record a step.
run_step() {
    local name=$1; shift
    section "$name: $*"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    local dt=$((SECONDS - t0))
    if [ "$rc" -eq 0 ]; then
        RESULTS+=("PASS  ${name} (${dt}s)")
    else
        RESULTS+=("FAIL  ${name} (${dt}s, exit ${rc})")
        FAILED+=("$name")
    fi
    return "$rc"
}

skip_step() { RESULTS+=("SKIP  $1 ($2)"); note "skipping $1: $2"; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    SUDO=()
fi

free_port() {
    "${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------------------------------ cleanup
PG_DIR=""
PG_BIN=""
PG_AS=()
cleanup() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        if [ -f "$PG_DIR/data/postmaster.pid" ]; then
            (cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
        fi
        rm -rf "$PG_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------ setup
# Debian packages the tests need (benchmark-only tools are NOT here).
APT_PACKAGES=(
    ca-certificates git gcc libc6-dev pkg-config   # cargo build (ring/sqlite need a C compiler)
    postgresql postgresql-client                    # PostgreSQL backend tests
    skopeo podman uidmap fuse-overlayfs slirp4netns # real clients
    busybox-static                                  # the rootfs of test images
    procps iproute2                                 # ps/ss for diagnostics
    rpm shfmt                                       # scanning tests: rpmdb builder, a Go 1.19 binary
)

apt_setup() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # docker: the sandbox/CI image ships its own engine; install Debian's only if absent.
    command -v docker >/dev/null 2>&1 || missing+=(docker.io)
    # a Python for the e2e suite
    if ! command -v "${PYTHON:-python3}" >/dev/null 2>&1; then
        missing+=(python3 python3-pip python3-venv)
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        note "all Debian packages present"
    else
        note "installing: ${missing[*]}"
        "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq || return 1
        "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
            "${missing[@]}" >/tmp/wharf-apt.log 2>&1 || { tail -n 50 /tmp/wharf-apt.log; return 1; }
    fi
    # a docker engine that is installed but not running: try to start it (no systemd in CI
    # containers).
    if command -v docker >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
        if command -v dockerd >/dev/null 2>&1; then
            note "docker engine not running; starting dockerd (log /tmp/wharf-dockerd.log)"
            ("${SUDO[@]}" setsid dockerd >/tmp/wharf-dockerd.log 2>&1 &)
            for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
            docker info >/dev/null 2>&1 || note "WARNING: docker engine did not come up"
        else
            note "WARNING: docker CLI present but no engine reachable; docker tests will fail"
        fi
    fi
    return 0
}

# Pick the interpreter; use a venv under target/ when the system Python is
# externally managed (Debian's /usr/bin/python3).
python_setup() {
    PY=${PYTHON:-python3}
    PY=$(command -v "$PY") || { note "no python3"; return 1; }
    if "$PY" -c 'import os,sys,sysconfig; sys.exit(0 if (sys.prefix==sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED"))) else 1)'; then
        local venv="$ROOT/target/e2e-venv"
        if [ ! -x "$venv/bin/python" ]; then
            note "system Python is externally managed; creating $venv"
            "$PY" -m venv "$venv" || return 1
        fi
        PY="$venv/bin/python"
        # console scripts of the requirements (the AWS CLI's `aws`) live beside it
        export PATH="$venv/bin:$PATH"
    fi
    # Already satisfied? (no network, no pip resolver run)
    if "$PY" - "$ROOT/tests/requirements.txt" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    try:
        v = version(req.name)
    except PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(v, prereleases=True):
        sys.exit(1)
EOF
    then
        note "Python requirements satisfied ($PY)"
    else
        note "pip install -r tests/requirements.txt ($PY)"
        "$PY" -m pip install -q --disable-pip-version-check -r tests/requirements.txt || return 1
    fi
    export PY
}

pg_setup() {
    if [ -n "${WHARF_TEST_PG_URL:-}" ]; then
        note "using the given WHARF_TEST_PG_URL"
        return 0
    fi
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        note "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
        return 1
    fi
    PG_DIR=$(mktemp -d /tmp/wharf-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root.
        local user=postgres
        if ! id "$user" >/dev/null 2>&1; then
            user=wharf-test
            id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || return 1
        fi
        chown "$user" "$PG_DIR"
        PG_AS=(runuser -u "$user" --)
    fi
    (cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
        -E UTF8 --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1) \
        || { cat "$PG_DIR/initdb.log"; return 1; }
    local port attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        if (cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" \
                -w -t 60 -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
                start >/dev/null); then
            export WHARF_TEST_PG_URL="postgres://postgres@127.0.0.1:${port}/postgres"
            note "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $PG_DIR/data)"
            note "WHARF_TEST_PG_URL=$WHARF_TEST_PG_URL"
            return 0
        fi
        note "pg_ctl start failed (attempt $attempt)"; tail -n 20 "$PG_DIR/postgres.log" 2>/dev/null
    done
    return 1
}

section "wharf test run ($(date -u +%FT%TZ), CI=${CI:-}, $(nproc) cores)"
if [ "${SKIP_SETUP:-0}" = 1 ]; then
    skip_step setup "SKIP_SETUP=1"
    PY=$(command -v "${PYTHON:-python3}"); export PY
else
    run_step "setup: apt" apt_setup || true
    run_step "setup: python" python_setup || true
fi
run_step "setup: postgres" pg_setup || true

section "tools"
for t in cargo rustc "${PY:-python3}" skopeo podman buildah docker psql busybox; do
    if command -v "$t" >/dev/null 2>&1; then
        if [ "$t" = busybox ]; then v=$(busybox 2>&1 | head -n 1); else v=$("$t" --version 2>&1 | head -n 1); fi
        printf '  %-8s %s\n' "$(basename "$t")" "$v"
    else
        printf '  %-8s MISSING\n' "$t"
    fi
done

# ------------------------------------------------------------------------------ rust
BUILD_OK=0
if [ "${SKIP_RUST:-0}" = 1 ]; then
    BUILD_OK=1
    skip_step rust "SKIP_RUST=1"
elif ! command -v cargo >/dev/null 2>&1; then
    run_step "cargo" false || true
    note "cargo not found: install the Rust toolchain (rust-version in Cargo.toml)"
else
    if [ "${SKIP_LINT:-0}" = 1 ]; then
        skip_step fmt "SKIP_LINT=1"
    else
        run_step fmt cargo fmt --all -- --check || true
    fi
    if run_step build cargo build --release --workspace --all-targets --locked; then
        BUILD_OK=1
        run_step "cargo test" cargo test --release --workspace --locked || true
        if [ "${SKIP_LINT:-0}" = 1 ]; then
            skip_step clippy "SKIP_LINT=1"
        else
            run_step clippy cargo clippy --workspace --all-targets --release --locked -- -D warnings || true
        fi
    else
        skip_step "cargo test" "build failed"
        skip_step clippy "build failed"
    fi
fi

# ------------------------------------------------------------------------------ e2e
export WHARF_BIN="${WHARF_BIN:-$ROOT/target/release/wharf}"
if [ "${SKIP_E2E:-0}" = 1 ]; then
    skip_step e2e "SKIP_E2E=1"
elif [ "$BUILD_OK" != 1 ]; then
    skip_step e2e "the build failed"
    FAILED+=("e2e (not run)")
elif [ ! -x "$WHARF_BIN" ]; then
    run_step e2e false || true
    note "no wharf binary at $WHARF_BIN"
else
    run_step e2e timeout --signal=TERM --kill-after=30 "${WHARF_E2E_TIMEOUT:-1800}" \
        "${PY:-python3}" -m pytest tests/e2e -q "$@" || true
fi

# ------------------------------------------------------------------------------ summary
section "summary ($(( $(date +%s) - START_TS ))s)"
for r in "${RESULTS[@]}"; do echo "  $r"; done
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo
    echo "FAILED: ${FAILED[*]}"
    exit 1
fi
echo
echo "ALL PASSED"
exit 0
