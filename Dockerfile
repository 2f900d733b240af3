# syntax=docker/dockerfile:1
# The ws-defaults image: one static binary on distroless, running as the
# unprivileged nonroot user. The chart passes `serve --cert-dir=/certs ...`.
# Without Docker, `make image` builds the same image, reproducibly and for
# both platforms (docs/image.md).
#
#   docker build -t ghcr.io/ws-defaults/ws-defaults:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ... --push .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only what the binary is built from (the Rego rules are embedded).
COPY api/ api/
COPY cmd/ cmd/
COPY policies/ policies/
COPY webhook/ webhook/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/webhook ./cmd/webhook

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/webhook /webhook
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/webhook"]
CMD ["serve"]
