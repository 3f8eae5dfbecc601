# The three service images, from one build: `docker build --target api-a|api-b|poller .`
# Runtime images are FROM scratch: one static binary (plus CA roots for the poller), a numeric
# non-root user, nothing to write to. Each binary checks its own health (`--health-check`).
#
# The dependencies are compiled in a layer of their own with cargo-chef, so editing the sources
# rebuilds only the workspace's crates: `planner` reduces the workspace to its manifests and lock
# file (`recipe.json`, unchanged by source edits), `dependencies` compiles what the recipe names,
# `builder` the sources.

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.78
# The build base. Public by default (docker compose, the tests); aks/deploy.sh passes the cluster
# registry's copy by digest (aks/third-party-images.txt: no anonymous Docker Hub pulls).
ARG RUST_IMAGE=rust:${RUST_VERSION}-slim-bookworm

FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A debug build: cargo-chef runs for well under a second per build, and compiles in less than
# half the time of a release build.
RUN cargo install cargo-chef --locked --debug --version "${CARGO_CHEF_VERSION}" \
 && rm -rf "${CARGO_HOME}/registry"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS dependencies
# Static glibc binaries run in an empty image. The target is explicit so that build scripts and
# proc macros stay dynamically linked. The build below must use the same flags (RUSTFLAGS,
# profile, target, packages), or it would not reuse these artefacts.
ENV RUSTFLAGS="-C target-feature=+crt-static"
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --target "$(rustc --print host-tuple)" \
        -p api-a -p api-b -p poller --recipe-path recipe.json

FROM dependencies AS builder
COPY . .
RUN target="$(rustc --print host-tuple)" \
 && cargo build --release --locked --target "${target}" -p api-a -p api-b -p poller \
 && mkdir /out \
 && cp "target/${target}/release/api-a" "target/${target}/release/api-b" \
       "target/${target}/release/poller" /out/

FROM scratch AS api-a
COPY --from=builder /out/api-a /usr/local/bin/api-a
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/api-a", "--health-check"]
ENTRYPOINT ["/usr/local/bin/api-a"]

FROM scratch AS api-b
COPY --from=builder /out/api-b /usr/local/bin/api-b
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/api-b", "--health-check"]
ENTRYPOINT ["/usr/local/bin/api-b"]

FROM scratch AS poller
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/poller /usr/local/bin/poller
USER 10001:10001
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/poller", "--health-check"]
ENTRYPOINT ["/usr/local/bin/poller"]
