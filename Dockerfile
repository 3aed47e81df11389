# Container images of inline-cache. Two targets:
#
#   docker buildx build --target bin -t inline-cache .     (the default)
#     FROM scratch: the static binary and CA certificates, nothing else.
#     It runs the standalone commands — `inline-cache verify REF...` and
#     `version` — and is a source to COPY the binary from. It has no shell,
#     so it cannot be a GitLab job `image:` itself.
#
#   docker buildx build --target ci -t inline-cache:ci .
#     docker:cli (sh, the docker CLI and the buildx plugin) plus
#     /usr/local/bin/inline-cache: the GitLab CI `image:` for
#     `inline-cache build`, which drives `docker buildx build`.
#
# --build-arg VERSION=v1.2.3 --build-arg COMMIT=<sha> stamp the version.
# The binary is cross-compiled on the build platform (no emulation).

ARG GO_VERSION=1.26.8
ARG DOCKER_VERSION=28

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev COMMIT=unknown
# distgen (as `make dist`) reads VERSION and COMMIT from the environment.
RUN go run ./internal/distgen -out /tmp/dist -targets "${TARGETOS}/${TARGETARCH}" \
 && mkdir -p /out \
 && cp "/tmp/dist/inline-cache-${TARGETOS}-${TARGETARCH}" /out/inline-cache

FROM docker:${DOCKER_VERSION}-cli AS ci
COPY --from=build /out/inline-cache /usr/local/bin/inline-cache

FROM scratch AS bin
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/inline-cache /inline-cache
# The docker config (registry credentials) is read from $HOME/.docker:
# mount one at /root/.docker/config.json, or set DOCKER_CONFIG.
ENV HOME=/root
ENTRYPOINT ["/inline-cache"]
CMD ["help"]
