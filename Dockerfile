# syntax=docker/dockerfile:1.7
# stock-ticker: one static-ish binary on distroless, running as a non-root user.
# Dependencies are cooked in their own layer (cargo-chef), so a source change rebuilds only
# this crate.

FROM rust:1.95.0-slim-bookworm AS chef
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

FROM gcr.io/distroless/cc-debian12:nonroot
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
