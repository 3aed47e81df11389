package buildlog

import "strings"

// Failure is what broke, in buildx's own words: its final "ERROR: " line
// (BuildKit's error, a failed push included), or else the last step that
// ended in ERROR. A lost connection to the daemon is said in plain words
// too, since buildx reports it as a gRPC status. "" when the log has none.
func (r *Recorder) Failure() string {
	tail := r.Tail()
	var step string
	for i := len(tail) - 1; i >= 0; i-- {
		l := strings.TrimSpace(tail[i])
		if msg, ok := strings.CutPrefix(l, "ERROR: "); ok {
			return explainDaemonLoss(msg)
		}
		if m := statusLine.FindStringSubmatch(l); step == "" && m != nil && strings.HasPrefix(m[2], "ERROR") && m[3] != "" {
			if _, isImport := r.importNumbered(m[1]); !isImport {
				step = m[3]
			}
		}
	}
	return explainDaemonLoss(step)
}

func (r *Recorder) importNumbered(n string) (*Import, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	imp, ok := r.imports[n]
	return imp, ok
}

// explainDaemonLoss adds what a gRPC "Unavailable" or an EOF from the
// server means for a build: the BuildKit daemon went away.
func explainDaemonLoss(msg string) string {
	// buildx words it as a gRPC status or, from the solve, "Unavailable: …".
	if strings.Contains(msg, "code = Unavailable") || strings.Contains(msg, "Unavailable: ") || strings.Contains(msg, "error reading from server: EOF") {
		return msg + " (the connection to the BuildKit daemon was lost: it stopped or crashed during the build)"
	}
	return msg
}
