// Package fuzzing holds no code: its test runs every fuzz target of the
// project briefly, so that the ordinary test command fuzzes too.
package fuzzing
