# AdStreamX images, from one multi-stage file (docs/docker.md):
#   docker build --target adsx -t adstreamx/adsx .   # the adsx binary: stream, serve, generate, ...
#   docker build --target jobs -t adstreamx/jobs .   # the PySpark jobs and model training
# deploy/compose.yaml builds and runs both beside Kafka, Redis, PostgreSQL and Prometheus.
# Every setting comes from ADSX_SECTION__KEY variables over config/adsx.toml, as outside.

# ---- build: adsx from source on Debian 12, with the packages of deploy/apt-packages.txt ----
FROM debian:12 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY deploy/apt-packages.txt /tmp/apt-packages.txt
# The list's "toolchain" and "C++ libraries" sections: the one list bootstrap.sh reads too.
RUN apt-get update -qq \
    && sed -n '/^# toolchain/,/^# services/p' /tmp/apt-packages.txt | sed 's/#.*//' \
       | xargs apt-get install -y -qq --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY schemas schemas
COPY src src
COPY apps apps
RUN cmake --preset release -DADSX_BUILD_TESTS=OFF \
    && cmake --build build/release --target adsx \
    && install -D -m 0755 build/release/apps/adsx/adsx /out/bin/adsx
# The Debian packages of the shared libraries adsx links: the runtime stage installs exactly
# these (security updates then come from Debian, not from a copy of the .so files).
# dpkg knows a file by the path its package ships (/lib/... before /usr/lib/... on merged-usr).
RUN ldd /out/bin/adsx | awk '$3 ~ /^\// {print $3}' \
    | while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")"; done \
    | cut -d: -f1 | sort -u > /out/runtime-packages.txt

# ---- adsx: the binary, its shared libraries, the config and the migrations; no compiler ----
# The layout is the project's (/opt/adstreamx/config/adsx.toml, migrations under deploy/), so
# the config's own defaults hold; its data (secrets, models) lives in the volume at var/.
FROM debian:12-slim AS adsx
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
# curl: the healthcheck's.
RUN apt-get update -qq \
    && xargs -a /tmp/runtime-packages.txt apt-get install -y -qq --no-install-recommends \
       ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
    && groupadd --system --gid 10001 adsx \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /opt/adstreamx/var adsx \
    && install -d -o adsx -g adsx /opt/adstreamx/var
COPY --from=build /out/bin/adsx /usr/local/bin/adsx
COPY config /opt/adstreamx/config
COPY deploy/postgres/migrations /opt/adstreamx/deploy/postgres/migrations
ENV ADSX_CONFIG=/opt/adstreamx/config/adsx.toml \
    ADSX_KAFKA__MANAGED=false \
    ADSX_REDIS__MANAGED=false \
    ADSX_POSTGRES__MANAGED=false \
    ADSX_PROMETHEUS__MANAGED=false \
    ADSX_SERVE__HOST=0.0.0.0 \
    ADSX_METRICS__HOST=0.0.0.0
USER 10001:10001
WORKDIR /opt/adstreamx/var
VOLUME /opt/adstreamx/var
EXPOSE 8080 9464
# What it probes: /metrics, which every long-running command serves (compose points `serve`
# at its /healthz through ADSX_HEALTH_URL).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "-c", "curl -fsS \"${ADSX_HEALTH_URL:-http://127.0.0.1:9464/metrics}\" >/dev/null"]
ENTRYPOINT ["adsx"]
CMD ["--help"]

# ---- jars: Spark's Kafka connector and the PostgreSQL driver, from Maven Central ----
FROM debian:12 AS jars
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends maven openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY deploy/spark/pom.xml /tmp/spark/pom.xml
RUN mvn -B -q -f /tmp/spark/pom.xml dependency:copy-dependencies \
        -DoutputDirectory=/out/jvm/spark-extras -Dmdep.useRepositoryLayout=false \
        -DincludeScope=runtime

# ---- jobs: Python 3.11 and Java 17 for the PySpark jobs (adsx_jobs) and training (adsx_ml) --
FROM debian:12-slim AS jobs
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# man1: openjdk's package installs a man page there and fails without the directory.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv \
       openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 adsx \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /opt/adstreamx/var adsx \
    && install -d -o adsx -g adsx /opt/adstreamx/var
COPY python/requirements.txt /opt/adstreamx/python/requirements.txt
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install -q --no-cache-dir -r /opt/adstreamx/python/requirements.txt
COPY --from=jars /out/jvm /opt/adstreamx/cache/jvm
COPY config /opt/adstreamx/config
COPY schemas /opt/adstreamx/schemas
COPY python /opt/adstreamx/python
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/adstreamx/python \
    ADSX_CONFIG=/opt/adstreamx/config/adsx.toml \
    ADSX_CACHE_DIR=/opt/adstreamx/cache \
    ADSX_KAFKA__MANAGED=false \
    ADSX_REDIS__MANAGED=false \
    ADSX_POSTGRES__MANAGED=false \
    ADSX_PROMETHEUS__MANAGED=false
USER 10001:10001
WORKDIR /opt/adstreamx/var
VOLUME /opt/adstreamx/var
HEALTHCHECK NONE
ENTRYPOINT ["python3", "-m"]
CMD ["adsx_jobs.lake", "--help"]
