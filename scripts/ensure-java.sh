#!/usr/bin/env bash
# Make sure a Java 17 (or newer) runtime is on this machine: pyspark starts a JVM for the
# --engine spark tests (tests/spark) and for `ledger-audit verify --engine spark`; and the
# PostgreSQL JDBC driver Spark reads a PostgreSQL ledger with (/usr/share/java/postgresql.jar).
#
# Installs Debian's openjdk-17-jre-headless and libpostgresql-jdbc-java with apt-get (as root,
# or through sudo when that needs no password). Idempotent: when both are present it only
# says so.
set -euo pipefail

readonly MINIMUM=17
readonly JDBC_JAR=/usr/share/java/postgresql.jar

say() { printf 'ensure-java: %s\n' "$*"; }
die() {
    printf 'ensure-java: error: %s\n' "$*" >&2
    exit 1
}

# The major version of the java on PATH (or $JAVA_HOME), 0 when there is none.
java_major() {
    local java=java
    [[ -n ${JAVA_HOME:-} ]] && java=$JAVA_HOME/bin/java
    command -v "$java" >/dev/null || {
        echo 0
        return
    }
    local line
    line=$("$java" -version 2>&1 | head -n 1)
    # openjdk version "17.0.15" 2025-04-15 / java version "1.8.0_402"
    local version=${line#*\"}
    version=${version%%\"*}
    [[ $version == 1.* ]] && version=${version#1.}
    echo "${version%%[.+-]*}"
}

major=$(java_major)
missing=()
((major >= MINIMUM)) || missing+=(openjdk-17-jre-headless)
[[ -f $JDBC_JAR ]] || missing+=(libpostgresql-jdbc-java)
if ((${#missing[@]} == 0)); then
    say "found Java $major and $JDBC_JAR"
    exit 0
fi

command -v apt-get >/dev/null ||
    die "missing ${missing[*]} (Java found: ${major/#0/none}) and this is not a Debian-like system (no apt-get): install a Java $MINIMUM runtime and the PostgreSQL JDBC driver"
if [[ $(id -u) == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    die "installing ${missing[*]} needs root: run 'sudo apt-get install ${missing[*]}'"
fi

say "installing ${missing[*]} with apt-get"
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
# Debian's JRE package configures itself with man-page links: a slim image lacks the folder.
"${as_root[@]}" mkdir -p /usr/share/man/man1
if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get could not install ${missing[*]} (output above)"
fi
major=$(java_major)
((major >= MINIMUM)) || die "installed ${missing[*]} but java (on PATH, or \$JAVA_HOME/bin) is still not Java >= $MINIMUM"
[[ -f $JDBC_JAR ]] || die "installed ${missing[*]} but $JDBC_JAR is still missing"
say "installed ${missing[*]} (Java $major)"
