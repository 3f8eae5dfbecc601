# The three service images, from one build: `docker build --target api-a|api-b|poller .`
# Runtime images are FROM scratch: one static binary (plus CA roots for the poller), a numeric
# non-root user, nothing to write to. Each binary checks its own health (`--health-check`).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Static glibc binaries run in an empty image. The target is explicit so that build scripts and
# proc macros stay dynamically linked.
ENV RUSTFLAGS="-C target-feature=+crt-static"

# Dependencies first, from the manifests alone, so this layer is rebuilt only when they change.
COPY Cargo.toml Cargo.lock ./
COPY common/Cargo.toml common/
COPY api-a/Cargo.toml api-a/
COPY api-b/Cargo.toml api-b/
COPY poller/Cargo.toml poller/
RUN set -eux; \
    for crate in common api-a api-b poller; do \
        mkdir -p "$crate/src"; touch "$crate/src/lib.rs"; \
    done; \
    for bin in api-a api-b poller; do echo 'fn main() {}' > "$bin/src/main.rs"; done; \
    cargo build --release --locked --target "$(rustc -vV | sed -n 's/^host: //p')" \
        -p api-a -p api-b -p poller; \
    rm -rf common/src api-a/src api-b/src poller/src

# Then the sources. Their files are older than the placeholder build, so they are touched to
# make cargo rebuild the workspace crates.
COPY common/src common/src
COPY api-a/src api-a/src
COPY api-b/src api-b/src
COPY poller/src poller/src
RUN set -eux; \
    find common api-a api-b poller -name '*.rs' -exec touch {} +; \
    target="$(rustc -vV | sed -n 's/^host: //p')"; \
    cargo build --release --locked --target "$target" -p api-a -p api-b -p poller; \
    mkdir /out; \
    cp "target/$target/release/api-a" "target/$target/release/api-b" "target/$target/release/poller" /out/

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
