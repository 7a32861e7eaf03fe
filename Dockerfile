# allianced: multi-stage build. The build stage compiles a static binary of
# ./cmd/allianced; the run stage is distroless (no shell, non-root user).
#
#   docker build -t allianced .
#   docker compose up        (see docker-compose.yml)

FROM golang:1.26 AS build
WORKDIR /src
# Download modules in their own layer so code changes do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/allianced ./cmd/allianced \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/allianced /usr/local/bin/allianced
# An empty, nonroot-owned /data: a named volume mounted there starts with this ownership.
COPY --from=build --chown=nonroot:nonroot /out/data /data
# The data directory holds local keys (and the embedded store when no KurrentDB is set).
VOLUME ["/data"]
ENV ALLIANCED_LISTEN=:8080 \
    ALLIANCED_DATA=/data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/allianced"]
