// Package a is one package of the test project.
package a

// Name names the package.
func Name() string { return "a v1" }
