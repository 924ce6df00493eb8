# Vigil's container image: a static binary on distroless, running the full
# configuration (collector/config/full.yaml) with the example SLOs.
#
#   docker build -t vigil .
#   docker run -p 4317:4317 -p 4318:4318 vigil
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
ENTRYPOINT ["/usr/local/bin/vigil"]
CMD ["--config", "/etc/vigil/full.yaml"]
