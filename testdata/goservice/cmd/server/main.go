// Command server is a small service: the shape of a real Go project for
// the end-to-end tests (dependencies from the module proxy, a builder
// stage, a runtime stage). It stays off net/http so that its builds, which
// start from an empty Go build cache on every fresh builder, stay short.
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"example.com/goservice/internal/greet"
)

type config struct {
	Name string `yaml:"name"`
}

func main() {
	check := pflag.Bool("check", false, "load the configuration, print a greeting and exit")
	cfgPath := pflag.String("config", "/etc/goservice.yaml", "configuration file")
	pflag.Parse()
	cfg := config{Name: "world"}
	if b, err := os.ReadFile(*cfgPath); err == nil {
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			log.Fatalf("%s: %v", *cfgPath, err)
		}
	}
	fmt.Println(greet.Greeting(cfg.Name))
	if *check {
		return
	}
	// Greets every name read from standard input, one per line.
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(greet.Greeting(sc.Text()))
	}
}
