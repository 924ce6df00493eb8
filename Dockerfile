# Vigil's container image: a static binary on distroless, as a non-root
# user, running the embedded default configuration (no external service
# needed), with collector/config/full.yaml beside it to select.
#
#   docker build -t vigil .
#   docker run -p 4317:4317 -p 4318:4318 vigil                         # embedded default
#   docker run -p 4317:4317 -p 4318:4318 vigil --config /etc/vigil/full.yaml
#
# CI builds Dockerfile.ci instead, which needs no base image from a registry.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/vigil ./collector \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vigil /usr/local/bin/vigil
COPY collector/config/full.yaml /etc/vigil/full.yaml
COPY slo/examples/*.yaml /etc/vigil/slo/
# State and persistent queues; a volume keeps them across restarts.
COPY --from=build --chown=65532:65532 /out/data /var/lib/vigil
ENV VIGIL_STORAGE_DIR=/var/lib/vigil \
    VIGIL_SLO_DIR=/etc/vigil/slo
USER 65532:65532
# OTLP gRPC and HTTP, self-telemetry, Prometheus exporter, health check.
EXPOSE 4317 4318 8888 8889 13133
# No arguments: the embedded default. The Helm chart and the compose file
# pass --config.
ENTRYPOINT ["/usr/local/bin/vigil"]
