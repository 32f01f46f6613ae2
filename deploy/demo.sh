#!/usr/bin/env bash
# `make demo`: the end-to-end run on the local stack. `make demo` has already bootstrapped,
# built and run `adsx stack up`; this proves each service works and prints a summary.
# Later issues extend it (generate events, stream features, batch jobs, training, serving).
set -euo pipefail
adsx=${1:?usage: demo.sh PATH_TO_ADSX}
py=${PYTHON:-.venv/bin/python}
banner() { printf '\n== %s\n' "$*"; }

banner "stack status (each row is a live round trip: Kafka produce+consume, Redis SET/GET, PostgreSQL query, Prometheus API)"
"$adsx" stack status

banner "Prometheus scrape targets"
prom=$("$adsx" config show | sed -n 's/^prometheus\.\(host\|port\) = "\{0,1\}\([^" ]*\)"\{0,1\} .*/\2/p' | paste -sd:)
curl -fsS "http://$prom/api/v1/query?query=up" | "$py" -c '
import json, sys
rows = json.load(sys.stdin)["data"]["result"]
for r in rows:
    job, inst, up = r["metric"].get("job", "?"), r["metric"].get("instance", "?"), r["value"][1]
    print(f"  {job:<12} {inst:<22} up={up}")
if not rows or any(r["value"][1] != "1" for r in rows):
    sys.exit("a Prometheus target is down")
'

banner "demo finished: every service of the local stack is healthy"
