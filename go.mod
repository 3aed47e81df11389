module github.com/inlinecache/action

go 1.26.8

require (
	github.com/docker/cli v29.8.2+incompatible
	github.com/docker/docker-credential-helpers v0.9.9
	github.com/docker/go-units v0.5.0
	github.com/google/go-containerregistry v0.22.1
	github.com/moby/buildkit v0.34.2
	github.com/sethvargo/go-githubactions v1.3.2
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/crypto v0.57.0
)

require (
	github.com/klauspost/compress v1.20.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	gotest.tools/v3 v3.5.2 // indirect
)
