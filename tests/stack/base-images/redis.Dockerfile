# CI stand-in for the official redis image (no registry is reachable in CI): Debian's
# redis-server and redis-cli on PATH, /data owned by the image's redis user (uid 999, gid 1000).
# The local Debian (base-images.sh builds it where no registry answers) is passed in.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: a stand-in takes whatever bookworm ships today.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 999 -g 1000 /data
WORKDIR /data
CMD ["redis-server"]
