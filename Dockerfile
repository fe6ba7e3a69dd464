# stock-ticker: one static-ish binary on distroless, running as a non-root user.
# Dependencies are cooked in their own layer (cargo-chef), so a source change rebuilds only
# this crate.

# Base images are pinned by digest (a tag can move). The Rust image comes from ECR Public's
# mirror of the Docker official images (no Docker Hub pull limits in CodeBuild); distroless
# comes from its own registry, gcr.io, which has no anonymous pull limit.
FROM public.ecr.aws/docker/library/rust:1.95.0-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin stock-ticker \
    && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=builder /app/target/release/stock-ticker /usr/local/bin/stock-ticker
# Only for the embedded SQLite default; production points DATABASE_URL at PostgreSQL.
COPY --from=builder --chown=65532:65532 /data /data
WORKDIR /data
ENV BIND=0.0.0.0:8000 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:///data/stock-ticker.db?mode=rwc
EXPOSE 8000
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/stock-ticker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/stock-ticker"]
CMD ["serve"]
