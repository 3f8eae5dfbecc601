# CI stand-in for the official rust slim image: the CI machine's own toolchain (bin and lib of
# its sysroot, in the build context), the C toolchain the official image has, and the CI
# machine's CA bundle so cargo can reach crates.io through its TLS-intercepting proxy.
# The local Debian (base-images.sh builds it where no registry answers) is passed in.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: a stand-in takes whatever bookworm ships today.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY toolchain/ /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
