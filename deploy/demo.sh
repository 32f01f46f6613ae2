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

events=${EVENTS:-2000000}
banner "simulated ad traffic: $events events over 7 days into Kafka (EVENTS=... to change)"
"$adsx" generate --events "$events" --days 7 --malformed-rate 0.001

banner "one event as it sits in Kafka (user id pseudonymised, IP truncated, TCF consent)"
kcat -C -b "$("$adsx" config show | sed -n 's/^kafka\.bootstrap_servers = "\([^"]*\)".*/\1/p')" \
    -t ad.events -o -1 -c 1 -e -q -p 0 | "$py" -m json.tool

banner "the catalog in PostgreSQL"
psql -h 127.0.0.1 -U adsx -d adstreamx -c \
    "SELECT bid_type, count(*) AS campaigns, round(avg(bid), 2) AS avg_bid,
            round(sum(daily_budget)) AS daily_budget FROM campaigns GROUP BY 1 ORDER BY 1"

banner "demo finished: stack healthy, $events events generated and acknowledged"
