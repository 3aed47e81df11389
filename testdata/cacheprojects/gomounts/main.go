// Command gomounts is the cache mount test project: three packages and a
// main, built with Go's build cache in a cache mount. It imports nothing
// from the standard library, so a clean build compiles only the runtime.
package main

import (
	"example.com/gomounts/a"
	"example.com/gomounts/b"
	"example.com/gomounts/c"
)

func main() { println(a.Name(), b.Name(), c.Name()) }
