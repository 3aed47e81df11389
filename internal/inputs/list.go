package inputs

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseList splits a list input the way docker/build-push-action does
// (actions-toolkit Util.getList): the value is read as CSV, one record per
// line, with double quotes honoured and relaxed. With splitComma every field
// is its own item (a line with a single field is split on commas even when
// quoted, as upstream does); without it a line's fields are joined back with
// commas, so only newlines separate items. Items are trimmed and empty ones
// dropped.
func ParseList(value string, splitComma bool) ([]string, error) {
	return ParseListWith(value, splitComma, ListOptions{})
}

// ListOptions are build-push-action's per-input list reading options.
type ListOptions struct {
	// NoTrim keeps the whitespace around items (secrets: a value may start
	// or end with a space).
	NoTrim bool
	// NoQuotes reads double quotes as plain characters (outputs), so only
	// newlines separate items.
	NoQuotes bool
}

// ParseListWith is ParseList with build-push-action's extra options.
func ParseListWith(value string, splitComma bool, o ListOptions) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	if o.NoQuotes && !splitComma {
		// Without quoting, joining a line's fields back with commas gives
		// the line itself.
		var out []string
		for _, l := range strings.Split(strings.ReplaceAll(value, "\r\n", "\n"), "\n") {
			if !o.NoTrim {
				l = strings.TrimSpace(l)
			}
			if l != "" {
				out = append(out, l)
			}
		}
		return out, nil
	}
	r := csv.NewReader(strings.NewReader(value))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	var items []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read list: %w", err)
		}
		switch {
		case splitComma && len(rec) == 1:
			// Upstream splits a lone field on commas even when it was quoted.
			items = append(items, strings.Split(rec[0], ",")...)
		case splitComma:
			items = append(items, rec...)
		default:
			items = append(items, strings.Join(rec, ","))
		}
	}
	out := items[:0]
	for _, it := range items {
		if !o.NoTrim {
			it = strings.TrimSpace(it)
		}
		if it != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

// ParseBool accepts the YAML 1.2 core schema booleans, as @actions/core's
// getBooleanInput does, so a workflow that works with build-push-action
// means the same thing here.
func ParseBool(value string) (bool, error) {
	switch strings.TrimSpace(value) {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", value)
}
