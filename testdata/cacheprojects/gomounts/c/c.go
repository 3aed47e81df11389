// Package c is one package of the test project.
package c

// Name names the package.
func Name() string { return "c v1" }
