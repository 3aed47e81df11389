package app

import (
	"strconv"
	"strings"
)

// quoteArgs shows a command line the way a shell user would type it. It is
// for the log only: nothing is ever run through a shell.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`|&;<>()*?[]{}#~!") {
			out[i] = strconv.Quote(a)
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}
