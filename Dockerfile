# The three service images, from one build: `docker build --target api-a|api-b|poller .`
# Runtime images are FROM scratch: one static binary (plus CA roots for the poller), a numeric
# non-root user, nothing to write to. Each binary checks its own health (`--health-check`).
# What is inside each one is known (docs/supply-chain.md): the binary carries its dependency list
# (cargo auditable, read by scanners from a scratch image), and the image carries a CycloneDX SBOM
# of it at /usr/share/sbom/<name>.cdx.json (cargo cyclonedx, from Cargo.lock and the build's
# target), which the pipeline also attaches to the image as a signed attestation.
#
# The dependencies are compiled in a layer of their own with cargo-chef, so editing the sources
# rebuilds only the workspace's crates: `planner` reduces the workspace to its manifests and lock
# file (`recipe.json`, unchanged by source edits), `dependencies` compiles what the recipe names,
# `builder` the sources.

# The build base, by digest: rust:1.97.1-slim-bookworm as Docker's repo-info recorded it
# (repos/rust/remote/1.97.1-slim-bookworm.md, commit 0afc2e65; the index, every platform).
# Public by default (docker compose, the tests); aks/deploy.sh passes the cluster registry's copy
# of its linux/amd64 image by digest (aks/third-party-images.txt: no anonymous Docker Hub pulls).
# tests/supply-chain/pins.py refreshes it.
ARG RUST_IMAGE=rust:1.97.1-slim-bookworm@sha256:158b745f1b82dbeec7ea06e6b1617d6b005723bb66e6141cd2ddfee40d079ec3
ARG CARGO_CHEF_VERSION=0.1.78
ARG CARGO_AUDITABLE_VERSION=0.7.7
ARG CARGO_CYCLONEDX_VERSION=0.5.9

FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION
ARG CARGO_AUDITABLE_VERSION
ARG CARGO_CYCLONEDX_VERSION
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debug builds: each tool runs for well under a second per build, and compiles in less than half
# the time of a release build; without debug info, which nobody reads here: a fifth less CPU time
# again (173 s instead of 217 s for the three).
RUN CARGO_PROFILE_DEV_DEBUG=0 cargo install --locked --debug "cargo-chef@${CARGO_CHEF_VERSION}" \
        "cargo-auditable@${CARGO_AUDITABLE_VERSION}" "cargo-cyclonedx@${CARGO_CYCLONEDX_VERSION}" \
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
# cargo auditable: the same build (it wraps the workspace's crates only, so the cooked
# dependencies are reused), plus the dependency list compressed into a section of each binary.
# cargo cyclonedx: one SBOM per crate from Cargo.lock and the resolved graph of this target
# (build dependencies included, as scope "excluded"), with every crate's version and licence.
RUN target="$(rustc --print host-tuple)" \
 && cargo auditable build --release --locked --target "${target}" -p api-a -p api-b -p poller \
 && cargo cyclonedx --format json --spec-version 1.5 --target "${target}" --quiet \
 && mkdir -p /out/sbom \
 && for name in api-a api-b poller; do \
      cp "target/${target}/release/${name}" /out/ && cp "${name}/${name}.cdx.json" /out/sbom/; \
    done

FROM scratch AS api-a
COPY --from=builder /out/api-a /usr/local/bin/api-a
COPY --from=builder /out/sbom/api-a.cdx.json /usr/share/sbom/api-a.cdx.json
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/api-a", "--health-check"]
ENTRYPOINT ["/usr/local/bin/api-a"]

FROM scratch AS api-b
COPY --from=builder /out/api-b /usr/local/bin/api-b
COPY --from=builder /out/sbom/api-b.cdx.json /usr/share/sbom/api-b.cdx.json
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/api-b", "--health-check"]
ENTRYPOINT ["/usr/local/bin/api-b"]

FROM scratch AS poller
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/poller /usr/local/bin/poller
COPY --from=builder /out/sbom/poller.cdx.json /usr/share/sbom/poller.cdx.json
USER 10001:10001
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/poller", "--health-check"]
ENTRYPOINT ["/usr/local/bin/poller"]
