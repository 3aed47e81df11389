// Package b is one package of the test project.
package b

// Name names the package.
func Name() string { return "b v1" }
