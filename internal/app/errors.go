package app

import (
	"errors"
	"fmt"
	"io"

	"github.com/inlinecache/action/internal/report"
)

// Exit statuses.
const (
	ExitOK     = 0
	ExitFailed = 1 // the build failed or the cache is not verified
	ExitUsage  = 2 // bad input; nothing was run
)

// Error is how a command fails: the exit status and, for a failure the
// user must see in the job's log, a title (an annotation on GitHub). Main
// shows each error once.
type Error struct {
	Code  int
	Title string
	Err   error
	// log is where the error is shown, if not on stderr.
	log report.Log
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// usageErr and failedErr are untitled errors, shown on stderr.
func usageErr(err error) error  { return &Error{Code: ExitUsage, Err: err} }
func failedErr(err error) error { return &Error{Code: ExitFailed, Err: err} }

// titled is a failure shown in the log, under title if there is one.
func titled(log report.Log, code int, title string, err error) error {
	return &Error{Code: code, Title: title, Err: err, log: log}
}

// inputErr reports bad input, one annotation per problem. An *Error from
// reading the flags keeps its status (-h is not a failure).
func inputErr(log report.Log, err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == ExitOK {
			return e
		}
		err = e.Err
	}
	return titled(log, ExitUsage, "Invalid input", err)
}

// errHelp ends a command that printed its usage on request.
var errHelp = &Error{Code: ExitOK}

// show renders err once and returns the exit status.
func show(stderr io.Writer, err error) int {
	var e *Error
	if !errors.As(err, &e) {
		fmt.Fprintf(stderr, "inline-cache: %v\n", err)
		return ExitFailed
	}
	switch {
	case e.Err == nil:
	case e.log != nil && e.Title == "":
		e.log.Error(e.Err.Error())
	case e.log != nil:
		for _, one := range flatten(e.Err) {
			e.log.ErrorTitle(e.Title, one.Error())
		}
	default:
		fmt.Fprintf(stderr, "inline-cache: %v\n", e.Err)
	}
	return e.Code
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
