# CI stand-in for the official nginx alpine image: nginx plus the wget that busybox provides
# there, the nginx user as UID/GID 101.
# The local Debian (base-images.sh builds it where no registry answers) is passed in.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: a stand-in takes whatever bookworm ships today.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light wget \
 && rm -rf /var/lib/apt/lists/*
CMD ["nginx", "-g", "daemon off;"]
