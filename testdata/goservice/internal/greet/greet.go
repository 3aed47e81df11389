// Package greet makes the service's greeting.
package greet

import (
	"fmt"

	"github.com/google/uuid"
)

// Greeting says hello to name with a request id.
func Greeting(name string) string {
	return fmt.Sprintf("hello, %s (request %s)", name, uuid.NewString())
}
