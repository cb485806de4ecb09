# shellcheck shell=bash
# Shell functions shared by scripts/test and bench/run: installing Debian packages when
# missing, and a throwaway PostgreSQL cluster in a temporary folder. Source it; set
# PG_SETTINGS (server options) before create_cluster.

# Server options for the throwaway cluster; the test run overrides them.
PG_SETTINGS=${PG_SETTINGS:-"-c max_connections=300 -c shared_buffers=128MB"}
PG_FIRST_PORT=55432
PG_PORT_ATTEMPTS=50

PG_BIN=""            # directory holding initdb and pg_ctl
PG_TMP=""            # throwaway cluster: socket dir, log; data in $PG_TMP/data
PG_PORT=""
APT_UPDATED=0
POLICY_RC_CREATED=0

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# A check whose tool cannot be had is skipped with a warning on a developer's machine; in CI
# (REQUIRE_TOOLS=1, set by .ci/run) that is a failure, so that a green run always ran it.
skip_or_die() {
    if [[ ${REQUIRE_TOOLS:-0} == 1 ]]; then
        die "$1 (REQUIRE_TOOLS=1: every check must run)"
    fi
    log "WARNING: $1; skipped"
}

is_root() { [[ $(id -u) -eq 0 ]]; }

as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "scripts/test: need root for: $*, and sudo is not installed" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- packages

# Package maintainer scripts start services (postgresql its "main" cluster,
# prometheus its daemon); the tests need neither, and in a container without an
# init system that start can hang or fail the install. A policy-rc.d that exits
# 101 tells invoke-rc.d not to start anything. An existing one (some Docker
# images ship one) is left alone.
block_service_starts() {
    [[ -e /usr/sbin/policy-rc.d ]] && return 0
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null || return 1
    POLICY_RC_CREATED=1
    as_root chmod 755 /usr/sbin/policy-rc.d
}

unblock_service_starts() {
    if [[ $POLICY_RC_CREATED -eq 1 ]]; then
        as_root rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=0
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || { echo "scripts/test: apt-get not found" >&2; return 1; }
    log "Installing Debian package(s): $*"
    block_service_starts || return 1
    local status=0
    if [[ $APT_UPDATED -eq 0 ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update || status=$?
        [[ $status -eq 0 ]] && APT_UPDATED=1
    fi
    if [[ $status -eq 0 ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -q install -y --no-install-recommends "$@" || status=$?
    fi
    unblock_service_starts
    return "$status"
}

# Newest /usr/lib/postgresql/<version>/bin first (Debian's layout, where several
# versions can coexist), then whatever is on PATH.
find_pg_bin() {
    local dir
    dir=$(for d in /usr/lib/postgresql/*/bin; do
              [[ -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
          done | sort -V | tail -n 1)
    if [[ -z $dir ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dir=$(dirname "$(command -v initdb)")
        [[ -x $dir/pg_ctl ]] || dir=""
    fi
    PG_BIN=$dir
    [[ -n $PG_BIN ]]
}

ensure_postgres_binaries() {
    find_pg_bin && return 0
    apt_install postgresql || die "could not install the Debian package postgresql"
    find_pg_bin || die "postgresql installed, but initdb/pg_ctl still not found"
}

ensure_promtool() {
    if [[ -n ${PROMTOOL:-} ]]; then
        [[ -x $PROMTOOL ]] || die "PROMTOOL=$PROMTOOL is not an executable"
        return 0
    fi
    if ! command -v promtool >/dev/null 2>&1; then
        # Not fatal: without promtool only the alert-rule checks are skipped.
        apt_install prometheus || true
    fi
    if command -v promtool >/dev/null 2>&1; then
        PROMTOOL=$(command -v promtool)
        export PROMTOOL
        log "promtool: $PROMTOOL"
    else
        export PROMTOOL_SKIP_REASON="promtool not found and the Debian package prometheus could not be installed"
        skip_or_die "$PROMTOOL_SKIP_REASON: tests that need it"
    fi
}

# The browser tests (tests/api/browser.rs) drive Debian's chromium with playwright-core and
# check the pages with axe-core, both from npm, pinned in tests/browser/package-lock.json.
# playwright's own browser download cannot work here, so the browser comes from apt. Sets
# CHROMIUM, or BROWSER_SKIP_REASON when the browser or the npm packages cannot be had (the
# test then says it skipped; with neither variable set it fails).
BROWSER_DIR=tests/browser

ensure_browser() {
    if [[ -n ${CHROMIUM:-} ]]; then
        [[ -x $CHROMIUM ]] || die "CHROMIUM=$CHROMIUM is not an executable"
    elif [[ -x /usr/bin/chromium ]] || apt_install chromium; then
        if [[ -x /usr/bin/chromium ]]; then
            CHROMIUM=/usr/bin/chromium
        fi
    fi
    if [[ -z ${CHROMIUM:-} ]]; then
        browser_skip "chromium not found and the Debian package chromium could not be installed"
        return 0
    fi
    # A font with Chinese glyphs, so that the zh-CN screenshots show text rather than boxes
    # (the checks themselves do not depend on it).
    if command -v fc-list >/dev/null 2>&1 && [[ -z $(fc-list :lang=zh 2>/dev/null) ]]; then
        apt_install fonts-wqy-microhei || log "WARNING: no Chinese font; zh-CN screenshots will show boxes"
    fi
    if ! command -v npm >/dev/null 2>&1; then
        # Node.js 20 or later (playwright-core's minimum); npm comes with it.
        apt_install nodejs || true
    fi
    if ! command -v npm >/dev/null 2>&1; then
        browser_skip "npm not found and the Debian package nodejs could not be installed"
        return 0
    fi
    log "npm ci --prefix $BROWSER_DIR (playwright-core, axe-core)"
    if ! npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund --loglevel=error >&2; then
        browser_skip "npm ci --prefix $BROWSER_DIR failed"
        return 0
    fi
    export CHROMIUM
    log "chromium: $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
}

browser_skip() {
    unset CHROMIUM
    export BROWSER_SKIP_REASON="$1"
    skip_or_die "$BROWSER_SKIP_REASON: the browser tests"
}

# ---------------------------------------------------------------- throwaway cluster

# initdb and postgres refuse to run as root, so as root they run as the postgres user.
as_pg_user() {
    if ! is_root; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        # cd: the caller's cwd may not be readable by postgres (e.g. under /root).
        (cd "$PG_TMP" && runuser -u postgres -- "$@")
    else
        (cd "$PG_TMP" && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

ensure_postgres_user() {
    is_root || return 0
    id postgres >/dev/null 2>&1 && return 0
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
}

# glibc >= 2.35 always has C.UTF-8; older or musl systems may not.
initdb_locale_args() {
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
        echo "--locale=C.UTF-8"
    else
        echo "--no-locale"
    fi
}

port_in_use() {
    # Bash's /dev/tcp connects, so this needs neither python nor ss/netstat.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Tries ports upward from PG_FIRST_PORT. Starting is the real test of a port: another
# process can take it between our check and postgres binding it.
start_cluster() {
    local port=$PG_FIRST_PORT attempt
    for ((attempt = 0; attempt < PG_PORT_ATTEMPTS; attempt++, port++)); do
        port_in_use "$port" && continue
        [[ -e $PG_TMP/log ]] && : >"$PG_TMP/log"   # so the grep below sees this attempt only
        if as_pg_user "$PG_BIN/pg_ctl" -w -D "$PG_TMP/data" -l "$PG_TMP/log" \
            -o "-p $port -k '$PG_TMP' -c listen_addresses=127.0.0.1 $PG_SETTINGS" \
            start >"$PG_TMP/pg_ctl.out" 2>&1; then
            PG_PORT=$port
            return 0
        fi
        # Retry only when the port was the problem; anything else is a real failure.
        grep -q 'could not bind\|could not create any TCP/IP sockets' "$PG_TMP/log" 2>/dev/null \
            || { cat "$PG_TMP/pg_ctl.out" "$PG_TMP/log" >&2 || true; die "PostgreSQL failed to start"; }
    done
    die "no free port for PostgreSQL in $PG_FIRST_PORT..$((PG_FIRST_PORT + PG_PORT_ATTEMPTS - 1))"
}

# shellcheck disable=SC2317 # reached through the EXIT trap
stop_cluster() {
    [[ -n $PG_TMP ]] || return 0
    # postmaster.pid, not "pg_ctl succeeded": a start that timed out may still be running.
    if [[ -e $PG_TMP/data/postmaster.pid ]]; then
        as_pg_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TMP"
    PG_TMP=""
}

create_cluster() {
    ensure_postgres_user
    PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/salon-crm-pg.XXXXXX")
    is_root && chown postgres: "$PG_TMP"

    local started_at=$SECONDS
    # shellcheck disable=SC2046 # initdb_locale_args prints one word
    as_pg_user "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 \
        $(initdb_locale_args) >"$PG_TMP/initdb.log" 2>&1 \
        || { cat "$PG_TMP/initdb.log" >&2; die "initdb failed"; }
    start_cluster

    export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    log "PostgreSQL: throwaway cluster, $("$PG_BIN/pg_ctl" --version | sed 's/^pg_ctl (PostgreSQL) //') from $PG_BIN, at $TEST_POSTGRES_URL (data in $PG_TMP, ready in $((SECONDS - started_at))s)"
}

# Hides a password in a URL before printing it.
redact_url() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

setup_postgres() {
    if [[ -n ${TEST_POSTGRES_URL:-} ]]; then
        log "PostgreSQL: using TEST_POSTGRES_URL=$(redact_url "$TEST_POSTGRES_URL")"
        return 0
    fi
    create_cluster
}

