// Package funclen holds no code: its test keeps the functions of the packages
// that carry the product's flow (app, inputs, plan, report) short enough to
// read at a glance.
package funclen
