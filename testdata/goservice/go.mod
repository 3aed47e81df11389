module example.com/goservice

go 1.26

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/google/uuid v1.6.0
	gopkg.in/yaml.v3 v3.0.1
)
