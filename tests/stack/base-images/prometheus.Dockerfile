# CI stand-in for the official prom/prometheus image (no registry is reachable in CI): Debian's
# Prometheus as /bin/prometheus, run as the image's user nobody (65534), who owns /prometheus;
# wget for the compose healthcheck, as busybox provides it there.
# The local Debian (base-images.sh builds it where no registry answers) is passed in.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: a stand-in takes whatever bookworm ships today.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus wget \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 65534 -g 65534 /prometheus
USER 65534:65534
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
