# wa-gateway in a container: the .pyz is built in the first stage for the image's own Python and CPU, and
# is the only application file in the second.
#
#   docker build -t wa-gateway .
#   docker run --rm -v wa-data:/data wa-gateway init          # writes /data/.env with a new API key
#   docker run -d --name wa-gateway -p 4010:4010 -v wa-data:/data wa-gateway
#
# For byte-identical .pyz files across builds, pass the commit time:
#   docker build --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" -t wa-gateway .

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY build_pyz.sh requirements.lock pyproject.toml README.md ./
COPY wa_gateway ./wa_gateway
ARG SOURCE_DATE_EPOCH
RUN PYTHON=python3.11 bash ./build_pyz.sh -o /out && mv /out/wa-gateway-*.pyz /out/wa-gateway.pyz

FROM python:3.11-slim-bookworm
# libmagic1: neonize loads it. ffmpeg: audio, voice notes and video are checked and converted with it.
# tini: PID 1 that reaps the short-lived `sh` children neonize leaves behind
# at import, and passes SIGTERM to the gateway, which then stops its engine worker in order.
# Versions are not pinned: Debian replaces them with security updates inside one release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 ffmpeg tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin wa \
    && mkdir -p /data /opt/wa-gateway \
    && chown wa:wa /data

COPY --from=build /out/wa-gateway.pyz /opt/wa-gateway/wa-gateway.pyz
# Unpacked and compiled once here, owned by root: every container starts warm and cannot modify its code.
ENV SHIV_ROOT=/opt/wa-gateway/unpacked \
    DATA_DIR=/data \
    PYTHONUNBUFFERED=1
RUN SHIV_COMPILE_PYC=1 python3.11 /opt/wa-gateway/wa-gateway.pyz --version

USER 10001:10001
# The gateway reads ./.env, so `init` writes the key into the volume and later starts find it there.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 4010
STOPSIGNAL SIGTERM
# `healthcheck` reads PORT and HOST like the gateway does (environment, then /data/.env).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python3.11", "/opt/wa-gateway/wa-gateway.pyz", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "python3.11", "/opt/wa-gateway/wa-gateway.pyz"]
