// Command gomounts is the cache mount test project: three packages and a
// main, built with Go's build cache in a cache mount.
package main

import (
	"fmt"

	"example.com/gomounts/a"
	"example.com/gomounts/b"
	"example.com/gomounts/c"
)

func main() { fmt.Println(a.Name(), b.Name(), c.Name()) }
