#!/usr/bin/env bash
# `make demo`: the end-to-end run on the local stack. `make demo` has already bootstrapped,
# built and run `adsx stack up`; this proves each service works and prints a summary.
# Each part of the product adds its step.
set -euo pipefail
adsx=${1:?usage: demo.sh PATH_TO_ADSX}
py=${PYTHON:-.venv/bin/python}
# Each step's banner; the time each took is printed as it ends and all of them last, so a
# slow stage shows (the loop's stage times at full size: bench/loop.py).
stages=() stage="" stage_start=$SECONDS
end_stage() {
    [ -n "$stage" ] || return 0
    local took=$((SECONDS - stage_start))
    printf '   -- %d s\n' "$took"
    stages+=("$(printf '%5d s  %.90s' "$took" "$stage")")
}
banner() {
    end_stage
    stage=$* stage_start=$SECONDS
    printf '\n== %s\n' "$*"
}
trap 'rc=$?; end_stage; stage=""; echo; echo "== stage times ($SECONDS s in all$([ $rc = 0 ] || echo ", failed: exit $rc")):"; printf "%s\n" "${stages[@]}"' EXIT
# The effective value of a configuration key (file + environment), e.g. setting redis\\.port
setting() { "$adsx" config show | sed -n "s/^$1 = \"\{0,1\}\([^\" ]*\)\"\{0,1\} .*/\1/p"; }

banner "stack status (each row is a live round trip: Kafka produce+consume, Redis SET/GET, PostgreSQL query, Prometheus API)"
"$adsx" stack status

banner "Prometheus scrape targets"
prom="$(setting prometheus\\.host):$(setting prometheus\\.port)"
"$py" - "$prom" <<'PY'
import json, sys, time, urllib.request
# Prometheus re-reads its file_sd targets every few seconds: give a just-swept list 15 s.
for attempt in range(16):
    rows = json.load(urllib.request.urlopen(f"http://{sys.argv[1]}/api/v1/query?query=up"))["data"]["result"]
    if rows and all(r["value"][1] == "1" for r in rows):
        break
    time.sleep(1)
for r in rows:
    job, inst, up = r["metric"].get("job", "?"), r["metric"].get("instance", "?"), r["value"][1]
    print(f"  {job:<12} {inst:<22} up={up}")
if not rows or any(r["value"][1] != "1" for r in rows):
    sys.exit("a Prometheus target is down")
PY

bootstrap=$(setting kafka\\.bootstrap_servers)
events_topic=$(setting kafka\\.events_topic)
dlq_topic=$(setting kafka\\.dlq_topic)

banner "a clean slate: the demo resets the local events topics and the online store"
# The simulated week is always the last 7 days, so a second demo would replay event times the
# stream has already passed (all late). Start over instead.
jars="$(setting stack\\.cache_dir)/jvm/kafka"
for t in "$events_topic" "$dlq_topic"; do
    java -Dlog4j.configuration="file:deploy/kafka/tools-log4j.properties" -cp "$jars/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
        --delete --if-exists --topic "$t"
done
redis-cli -h "$(setting redis\\.host)" -p "$(setting redis\\.port)" FLUSHDB >/dev/null
lake=$(setting lake\\.dir)
rm -rf "$lake" "$(setting spark\\.checkpoint_dir)/lake-$events_topic"
"$adsx" db migrate >/dev/null
psql -h 127.0.0.1 -U adsx -d adstreamx -qc \
    "TRUNCATE analytics_minute, analytics_batches, experiment_user_days, experiment_offsets"
sleep 2  # topic deletion completes asynchronously in the broker

events=${EVENTS:-2000000}
banner "simulated ad traffic: $events events over 7 days into Kafka (EVENTS=... to change)"
"$adsx" generate --events "$events" --days 7 --malformed-rate 0.001

banner "one event as it sits in Kafka (user id pseudonymised, IP truncated, TCF consent)"
kcat -C -b "$bootstrap" -t "$events_topic" -o -1 -c 1 -e -q -p 0 | "$py" -m json.tool

banner "the event contract: verdicts of the first 100,000 records, as adsx stream and the lake job give them"
kcat -C -b "$bootstrap" -t "$events_topic" -o beginning -c 100000 -e -q -p 0 -f '%s\n' |
    { "$adsx" events check --all - || true; } | cut -f2 | sort | uniq -c

banner "the catalog in PostgreSQL"
psql -h 127.0.0.1 -U adsx -d adstreamx -c \
    "SELECT bid_type, count(*) AS campaigns, round(avg(bid), 2) AS avg_bid,
            round(sum(daily_budget)) AS daily_budget FROM campaigns GROUP BY 1 ORDER BY 1"

banner "streaming features: adsx stream works through the topic into Redis, then stops"
"$adsx" stream --until-idle 3 2> >(grep -v '"message":"progress"' >&2)
echo "the group's lag as Kafka holds it (adsx lag; --serve exports it to Prometheus):"
"$adsx" lag | tail -1

# The experiment collector counts the week into per-user-day totals (the pre-period of the
# experiments below) while the demo goes on; it exits once caught up.
var=$(setting stack\\.var_dir)
"$adsx" experiment collect --until-idle 5 >"$var/log/collect-demo.out" 2>>"$var/log/collect.log" &
collector=$!

banner "online features of two ads and a user, as of their newest event (adsx features)"
for ad in 1 2; do echo "ad $ad: $("$adsx" features ad "$ad")"; done
user=$(redis-cli -h "$(setting redis\\.host)" -p "$(setting redis\\.port)" \
    SCAN 0 MATCH 'u:*' COUNT 100000 | sed -n 2p)
echo "user ${user#u:}: $("$adsx" features user "${user#u:}")"

banner "lake: Spark Structured Streaming archives the topic as Parquet by event date/hour, per-minute analytics into PostgreSQL"
"$py" -m adsx_jobs.lake --available-now 2>/dev/null | grep -v '"progress"'
psql -h 127.0.0.1 -U adsx -d adstreamx -c \
    "SELECT date_trunc('day', minute)::date AS day, sum(impressions) AS impressions,
            sum(clicks) AS clicks, round(sum(spend), 2) AS spend FROM analytics_minute
     GROUP BY 1 ORDER BY 1"

day=$(date -u -d yesterday +%F)
banner "daily batch features as of the end of $day (7-day windows, lifetime value), Parquet + PostgreSQL"
"$py" -m adsx_jobs.daily --date "$day" 2>/dev/null | grep -v '"progress"'
psql -h 127.0.0.1 -U adsx -d adstreamx -c \
    "SELECT campaign_id, impressions_7d, clicks_7d, round(ctr_7d::numeric, 4) AS ctr_7d,
            round(spend_7d::numeric, 2) AS spend_7d, round(roas_7d::numeric, 2) AS roas_7d,
            round(pacing::numeric, 2) AS pacing
     FROM features_campaign WHERE date = '$day' ORDER BY spend_7d DESC LIMIT 5"

banner "materialization: those daily features into the online store (b.* fields, never over newer ones)"
"$py" -m adsx_jobs.materialize --date "$day" 2>/dev/null | grep -v '"progress"'
echo "ad 1, batch fields: $(redis-cli -h "$(setting redis\\.host)" -p "$(setting redis\\.port)" \
    HMGET a:1 b.asof b.impressions_7d b.ctr_7d b.roas_7d | tr '\n' ' ')"

# Two whole days whose 24-hour conversion windows are over (yesterday's are not yet).
first=$(date -u -d '3 days ago' +%F)
last=$(date -u -d '2 days ago' +%F)
banner "a point-in-time training set: impressions of $first to $last, labelled, with batch features as of the day before each and streaming features as of each impression"
for ago in 4 3; do
    "$py" -m adsx_jobs.daily --date "$(date -u -d "$ago days ago" +%F)" 2>/dev/null |
        grep -v '"progress"' >/dev/null
done
"$py" -m adsx_jobs.training_set --from "$first" --to "$last" --name demo 2>/dev/null |
    "$py" -c 'import json, sys
m = json.loads(sys.stdin.read().strip().splitlines()[-1])
print("  {:,} impressions -> {}".format(m["rows"], m["path"]))
print("  click rate {:.4f}, conversion rate {:.4f}, {} features, batch coverage {}".format(
    m["labels"]["clicked"]["rate"], m["labels"]["converted"]["rate"], len(m["features"]),
    m["batch_coverage"]))'

banner "ranking models: LR and XGBoost per head, trained on that set, evaluated on its last day, registered"
"$py" -m adsx_ml.train --training-set "$(setting lake\\.dir)/training/demo/manifest.json" \
    --arm-per-family |
    grep -v '^  \(lr C=\|xgboost round\)'
"$adsx" model list

banner "experiments in one layer: an A/A test on half the users, LR (A) against XGBoost (B) on the other half"
# Names are never reused: each demo run starts new ones and stops the previous run's.
"$adsx" experiment list | awk '$1 ~ /^demo-(aa|lr-xgb)-/ && $2 == "running" {print $1}' |
    while read -r old; do "$adsx" experiment stop --name "$old" >/dev/null; done
stamp=$(date -u +%Y%m%d%H%M%S)
aa="demo-aa-$stamp"
ab="demo-lr-xgb-$stamp"
"$adsx" experiment create --name "$aa" --arms a,b --model-arms control,control \
    --layer demo --buckets 0-4999 >/dev/null
"$adsx" experiment create --name "$ab" --arms lr,xgboost --model-arms lr,xgboost \
    --layer demo --buckets 5000-9999 >/dev/null
"$adsx" experiment start --name "$aa"
"$adsx" experiment start --name "$ab"
"$adsx" experiment list | sed -n "1p;/^$aa /p;/^$ab /p"

banner "serving: adsx serve ranks ads and answers the feature API over HTTP (left running for you to try)"
pidfile="$var/run/serve-demo.pid"
if [[ -f $pidfile ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; sleep 1; fi
"$adsx" serve >/dev/null 2>>"$var/log/serve.log" &
echo $! > "$pidfile"
url="http://$(setting serve\\.host):$(setting serve\\.port)"
for _ in $(seq 50); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
if ! curl -sf "$url/healthz" >/dev/null; then
    tail -3 "$var/log/serve.log" >&2
    echo "adsx serve did not start on $url (see $var/log/serve.log)" >&2
    exit 1
fi
echo "GET $url/readyz -> $(curl -s "$url/readyz")"
# A request for the user of the topic's last event, with that event's consent and context.
request=$(kcat -C -b "$bootstrap" -t "$events_topic" -o -1 -c 1 -e -q -p 0 | "$py" -c 'import json, sys
e = json.load(sys.stdin)
print(json.dumps({"user_id": e["user_id"], "consent": e["consent"], "slots": 3,
                  "context": {"device": e["device"], "geo": e["geo"], "placement": "feed"}}))')
echo "POST $url/rank_ads $request ->"
curl -s -X POST "$url/rank_ads" -H 'Content-Type: application/json' -d "$request" |
    "$py" -c 'import json, sys
r = json.load(sys.stdin)
m = r["model"]
model = "{} v{} ({})".format(m["name"], m["version"], m["arm"]) if m else "none (CTR prior)"
e = r["experiment"]
print("  model {}, experiment {}, personalised {}, degraded {}".format(
    model, "{} arm {}".format(e["name"], e["arm"]) if e else "none (holdout)", r["personalised"],
    r["degraded"] or "no"))
for a in r["ranked_ads"]:
    print("  slot {slot}: ad {ad_id} (campaign {campaign_id}, {bid_type}) pCTR {pctr:.4f} "
          "eCPM {ecpm:.2f} price {price:.4f}".format(**a))'
echo "GET $url/features/ad/1 ->"
curl -s "$url/features/ad/1" | "$py" -c 'import json, sys
f = json.load(sys.stdin)
print("  freshness {:.1f} s, 5-min CTR {:.4f}, impressions last hour {}, batch ctr_7d {}".format(
    f["freshness_s"], f["stream"]["ctr_5m"], f["stream"]["last_1h"]["impressions"],
    (f["batch"] or {}).get("features", {}).get("ctr_7d")))'
echo "API docs: $url/docs   (stop the service: kill \$(cat $pidfile))"

loop_s=${LOOP_SECONDS:-90}
banner "the closed loop: adsx simulate's virtual users call POST /rank_ads for $loop_s s; clicks and conversions drawn by the hidden truth go to Kafka (LOOP_SECONDS=... to change)"
"$adsx" simulate --duration "$loop_s" --users 20000 --concurrency 4 --time-scale 600 --drain 10 \
    --json "$var/simulate-demo.json" 2> >(grep -v '"message":"progress"' >&2)
wait "$collector" || true
"$adsx" experiment collect --until-idle 3 2>/dev/null

banner "experiment reports (adsx experiment report: Markdown, JSON and a self-contained HTML page each)"
for name in "$aa" "$ab"; do
    "$adsx" experiment report --name "$name" --out "$var/reports/$name" | sed -n 1p
done
"$py" - "$var/simulate-demo.json" "$var/reports/$ab/report.json" "$ab" <<'PY'
import json, sys
loop, report, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
truth = loop["arms"][name + "/xgboost"]["true_ctr"] / loop["arms"][name + "/lr"]["true_ctr"] - 1
m = next(m for m in report["metrics"] if m["metric"] == "ctr" and m["arm"] == "xgboost")
print("  XGBoost vs LR, CTR lift: the report estimates {:+.2%} (95% CI {:+.2%} to {:+.2%}); the hidden "
      "truth of what each arm served says {:+.2%}: {}".format(
          m["lift"], m["lift_low"], m["lift_high"], truth,
          "same sign" if (m["lift"] > 0) == (truth > 0) else "opposite signs (noise: run longer)"))
PY
# The experiments stop with the demo (their data and reports stay): a running experiment would
# assign the users of anything else that talks to this service or this database, tests included.
for name in "$aa" "$ab"; do "$adsx" experiment stop --name "$name" >/dev/null; done
echo "  open $var/reports/$ab/report.html in a browser (or $url/experiments/$ab while serve runs);"
echo "  both experiments are stopped now, their reports stay"

banner "privacy: erase the user above through the admin API (POST /admin/privacy/erasures); adsx privacy worker erases Redis and PostgreSQL, adsx_jobs.lake_erase rewrites the lake, both verify and record it"
user=$(echo "$request" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["user_id"])')
token=$(cat "$(setting serve\\.admin_token_file)")
erasure=$(curl -s -X POST "$url/admin/privacy/erasures" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"user\": \"$user\"}")
id=$(echo "$erasure" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["request_id"])')
echo "POST $url/admin/privacy/erasures {\"user\": \"$user\"} -> 202, request $id queued"
"$adsx" privacy worker --until-idle 2 2>/dev/null | tail -1
curl -s "$url/admin/privacy/erasures/$id" -H "Authorization: Bearer $token" | "$py" -c 'import json, sys
r = json.load(sys.stdin)
print("GET /admin/privacy/erasures/{}: stores {}, verified at {}".format(
    r["request_id"], ", ".join(sorted(r["stores"])), r["verified_at"]))'
"$py" -m adsx_jobs.lake_erase 2>/dev/null | tail -1
# Exit 3: Redis, PostgreSQL and the lake are clear, Kafka's records go with retention (it says when).
"$adsx" privacy verify --user "$user" || [ $? -eq 3 ]
echo "  the user stays on the suppression list: a replay of ad.events cannot bring them back"

banner "PII scan: every log, metric, Kafka record, Redis key and value, PostgreSQL row and Parquet row the demo left, searched for e-mails, full IPs, phone numbers and raw user ids"
"$py" -m adsx_jobs.pii_scan

end_stage; stage=""
printf '\n== %s\n' "demo finished: stack healthy, $events events generated, streamed into online features, archived to the lake, daily features, a training set and ranking models built, served over HTTP, an A/A and an LR-vs-XGBoost experiment run through the closed loop and reported, and a user erased"
