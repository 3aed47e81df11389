// Command server is a small HTTP service: the shape of a real Go project
// for the end-to-end tests (dependencies, a builder stage, a runtime stage).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"gopkg.in/yaml.v3"

	"example.com/goservice/internal/greet"
)

type config struct {
	Addr string `yaml:"addr"`
	Name string `yaml:"name"`
}

func main() {
	check := flag.Bool("check", false, "load the configuration, print a greeting and exit")
	cfgPath := flag.String("config", "/etc/goservice.yaml", "configuration file")
	flag.Parse()
	cfg := config{Addr: "127.0.0.1:8080", Name: "world"}
	if b, err := os.ReadFile(*cfgPath); err == nil {
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			log.Fatalf("%s: %v", *cfgPath, err)
		}
	}
	if *check {
		fmt.Println(greet.Greeting(cfg.Name))
		return
	}
	r := chi.NewRouter()
	r.Get("/hello/{name}", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintln(w, greet.Greeting(chi.URLParam(req, "name")))
	})
	log.Fatal(http.ListenAndServe(cfg.Addr, r))
}
