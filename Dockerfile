# Build stage: a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/recordingsd ./cmd/recordingsd

# Run stage: no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/recordingsd /usr/local/bin/recordingsd
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/recordingsd"]
