#!/usr/bin/env bash
# Bootstrap a Debian 12 machine for AdStreamX, idempotently (`make deps` runs this):
#   1. the Debian packages in deploy/apt-packages.txt (skipped when all are installed);
#   2. the Python venv .venv from python/requirements.txt (skipped when unchanged), and Airflow's
#      .venv-airflow from python/airflow-constraints.txt (the DAG in python/dags);
#   3. from Maven Central into $ADSX_CACHE_DIR/jvm (default ~/.cache/adstreamx, outside the
#      clone; skipped when present): the Kafka broker and tools (deploy/jvm/pom.xml), and Spark's
#      Kafka connector at exactly the pyspark version plus the PostgreSQL JDBC driver
#      (deploy/spark/pom.xml);
#   4. IAB Tech Lab's TCF encoder from npm into $ADSX_CACHE_DIR/npm (the consent tests' source of
#      TC strings), with the machine's Node.js;
#   5. lets the PostgreSQL server user reach var/ (it refuses to run as root).
# Needs root (or sudo) for steps 1 and 5. Downloads only from Debian, PyPI, Maven Central, npm.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ADSX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/adstreamx}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
started=$(date +%s)
step() { printf '==> %s\n' "$*"; }

# ---- 1. Debian packages ------------------------------------------------------------------
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$root/deploy/apt-packages.txt" | awk NF)
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' 2>/dev/null | awk '$2=="installed"{print $1}')
missing=()
for p in "${wanted[@]}"; do
    grep -qx -- "$p" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${#missing[@]} Debian packages: ${missing[*]}"
    # Service packages (redis-server, postgresql, prometheus) must not start system-wide
    # daemons on the ports our stack uses: deny service starts while installing.
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod +x "$policy"
        own_policy=1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ "$own_policy" = 1 ] && $sudo rm -f "$policy"
else
    step "Debian packages: all ${#wanted[@]} installed"
fi

# ---- 2. Python venvs -----------------------------------------------------------------------
# make_venv DIR PINS STAMP PIP_ARGS...: the venv DIR with `pip install PIP_ARGS`, made again only when
# the file PINS changed since (its digest kept in DIR/STAMP).
make_venv() {
    local dir=$1 pins=$2 stamp="$1/$3" want
    shift 3
    want=$(sha256sum "$pins" | cut -d' ' -f1)
    if [ ! -x "$dir/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        step "Python venv $dir from ${pins#"$root"/}"
        python3 -m venv "$dir"
        "$dir/bin/pip" install -q --disable-pip-version-check "$@"
        echo "$want" > "$stamp"
    else
        step "Python venv $dir: up to date"
    fi
}
req="$root/python/requirements.txt"
make_venv "$root/.venv" "$req" .requirements.sha256 -r "$req"
# The project's own Python packages (python/adsx_jobs, …) importable from the venv.
site=$("$root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$root/python" > "$site/adstreamx.pth"
# Airflow in a venv of its own (its pins clash with the jobs' libraries), for python/dags.
pins="$root/python/airflow-constraints.txt"
make_venv "$root/.venv-airflow" "$pins" .constraints.sha256 -c "$pins" apache-airflow

# ---- 3. JVM jars from Maven Central --------------------------------------------------------
# resolve_jars NAME VERSION POM: every runtime jar of POM, flat, into
# $cache/jvm/NAME-VERSION-<POM digest> (skipped when complete: a changed POM resolves anew), and
# the symlink $cache/jvm/NAME to it.
resolve_jars() {
    local name=$1 version=$2 pom=$3
    local jars
    jars="$cache/jvm/$name-$version-$(sha256sum "$pom" | cut -c1-12)"
    if [ ! -f "$jars/.complete" ]; then
        step "$name $version jars from Maven Central into $jars"
        rm -rf "$jars.tmp"
        mkdir -p "$cache"
        if ! mvn -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$jars.tmp" \
            -Dmdep.useRepositoryLayout=false -DincludeScope=runtime >"$cache/mvn.log" 2>&1; then
            tail -n 40 "$cache/mvn.log"
            echo "bootstrap: resolving the $name jars failed (full log: $cache/mvn.log)" >&2
            exit 1
        fi
        rm -rf "$jars" && mv "$jars.tmp" "$jars"
        touch "$jars/.complete"
    else
        step "$name $version jars: present in $jars"
    fi
    ln -sfn "$(basename "$jars")" "$cache/jvm/$name"
}
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$2"; }

resolve_jars kafka "$(pom_property kafka.version "$root/deploy/jvm/pom.xml")" "$root/deploy/jvm/pom.xml"

# Spark's Kafka connector must be built for exactly the pyspark in the venv.
spark_version=$(pom_property spark.version "$root/deploy/spark/pom.xml")
pyspark_version=$(sed -n 's/^pyspark==\([^[:space:]]*\).*/\1/p' "$req")
if [ "$spark_version" != "$pyspark_version" ]; then
    echo "bootstrap: deploy/spark/pom.xml has spark.version $spark_version but" \
        "python/requirements.txt pins pyspark==$pyspark_version; they must be equal" >&2
    exit 1
fi
resolve_jars spark-extras "$spark_version" "$root/deploy/spark/pom.xml"

# The C++ tree scorer links Debian's libxgboost; models are trained with the Python xgboost of
# the same version, so the artifact format and the predictions agree (docs/models.md).
deb_xgboost=$(dpkg-query -W -f '${Version}' libxgboost-dev 2>/dev/null | sed 's/-[^-]*$//')
py_xgboost=$(sed -n 's/^xgboost==\([^[:space:]]*\).*/\1/p' "$req")
if [ "$deb_xgboost" != "$py_xgboost" ]; then
    echo "bootstrap: Debian's libxgboost-dev is ${deb_xgboost:-missing} but" \
        "python/requirements.txt pins xgboost==$py_xgboost; they must be equal" >&2
    exit 1
fi

# ---- 4. npm: IAB Tech Lab's TCF encoder -----------------------------------------------------
# The consent tests make their TC strings with @iabtechlabtcf/core (an encoder independent of
# ours; the PyPI TCF libraries only decode), into $cache/npm with the machine's Node.js.
tcf_version=1.5.21
tcf="$cache/npm/node_modules/@iabtechlabtcf/core/package.json"
if ! command -v npm >/dev/null; then
    echo "bootstrap: npm (Node.js) is needed for the consent tests' TCF encoder" >&2
    exit 1
elif ! grep -q "\"version\": \"$tcf_version\"" "$tcf" 2>/dev/null; then
    step "npm: @iabtechlabtcf/core $tcf_version into $cache/npm"
    mkdir -p "$cache/npm"
    npm install --prefix "$cache/npm" --no-audit --no-fund --silent "@iabtechlabtcf/core@$tcf_version"
else
    step "npm: @iabtechlabtcf/core $tcf_version up to date"
fi

# ---- 5. PostgreSQL's user must reach var/ --------------------------------------------------
# The server runs as `postgres` with its data in var/postgres; every directory above it must
# let that user pass. Grant exactly that (an ACL "x" for one user), nothing more.
as_postgres() { if [ -z "$sudo" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
if id postgres >/dev/null 2>&1; then
    dir="$root"
    while [ "$dir" != "/" ]; do
        if ! as_postgres test -x "$dir" 2>/dev/null; then
            step "granting the postgres user passage through $dir (setfacl u:postgres:x)"
            $sudo setfacl -m u:postgres:x "$dir"
        fi
        dir=$(dirname "$dir")
    done
fi

step "bootstrap done in $(( $(date +%s) - started )) s"
