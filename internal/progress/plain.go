package progress

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// plainReader reads --progress plain ("#N …" lines) into the same model.
// Plain lines carry no timestamps: a step starts when its first line
// arrives and lasts what its "DONE 2.3s" says.
type plainReader struct {
	t   *tracker
	now func() time.Time
}

var (
	plainLine   = regexp.MustCompile(`^#(\d+) (.*)$`)
	plainDone   = regexp.MustCompile(`^DONE (\d+(?:\.\d+)?)s$`)
	plainLog    = regexp.MustCompile(`^\d+\.\d+ (.*)$`)
	plainStatus = regexp.MustCompile(`^(.*?)(?: [\d.]+[kMG]?B / [\d.]+[kMG]?B)?(?: [\d.]+[kMG]?B)? (\d+(?:\.\d+)?)s(?: done)?$`)
	// plainWarning is buildx's summary line " - FromAsCasing: … (line 4)";
	// the message is the same as rawjson's, "(line 4)" included.
	plainWarning = regexp.MustCompile(`^ - (.+?)(?: \(line (\d+)\))?$`)
)

// ansi matches the colour codes buildx puts around its warning summary.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func (p *plainReader) line(l string) {
	if strings.IndexByte(l, 0x1b) >= 0 {
		l = ansi.ReplaceAllString(l, "")
	}
	m := plainLine.FindStringSubmatch(l)
	if m == nil {
		p.t.textLine(l)
		if w := plainWarning.FindStringSubmatch(l); w != nil && strings.Contains(w[1], ": ") {
			p.t.warn(BuildWarning{Message: strings.TrimPrefix(l, " - "), Line: atoi(w[2])})
		}
		return
	}
	now := p.now()
	p.t.seen(now)
	v, isNew := p.t.get("#" + m[1])
	if v == nil {
		return
	}
	v.num = atoi(m[1])
	rest := m[2]
	if isNew || v.name == "" {
		v.name, v.p = rest, parseName(rest)
		v.started, v.lastStart = now, now
		return
	}
	switch {
	case rest == v.name:
		// buildx repeats the header when it returns to a vertex
	case rest == "CACHED":
		v.cached, v.done, v.completed = true, true, now
	case rest == "CANCELED":
		v.canceled, v.done, v.completed = true, true, now
	case strings.HasPrefix(rest, "ERROR"):
		v.err = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(rest, "ERROR"), ":"))
		if v.err == "" {
			v.err = "error"
		}
		v.done, v.completed = true, now
	case strings.HasPrefix(rest, "WARN: "):
		msg := strings.TrimPrefix(rest, "WARN: ")
		w := BuildWarning{Message: msg}
		if m := plainWarning.FindStringSubmatch(" - " + msg); m != nil {
			w.Line = atoi(m[2])
		}
		p.t.warn(w)
	default:
		if d := plainDone.FindStringSubmatch(rest); d != nil {
			secs, _ := strconv.ParseFloat(d[1], 64)
			v.duration, v.done, v.completed = time.Duration(secs*float64(time.Second)), true, now
			// A cached step whose layers had to be pulled: plain prints
			// the downloads and DONE, never CACHED; a step that executed
			// would also have had its input layers pulled under another
			// vertex, not its own.
			if v.p.kind == KindStep && v.pulls > 0 && v.logLines == 0 {
				v.cached = true
			}
			return
		}
		if lg := plainLog.FindStringSubmatch(rest); lg != nil {
			p.t.logLine(v, []byte(lg[1]), nil)
			return
		}
		// "sha256:… 1.2MB / 3.4MB 0.3s done" and "extracting sha256:…"
		// are layer downloads; a bare "sha256:…" is the vertex digest that
		// docker build 20.10 prints under each header.
		if isLayerDigest(rest) && strings.IndexByte(rest, ' ') > 0 {
			v.pulls++
			return
		}
		if s := plainStatus.FindStringSubmatch(rest); s != nil && strings.HasPrefix(s[1], "pushing") && strings.HasSuffix(rest, " done") {
			secs, _ := strconv.ParseFloat(s[2], 64)
			p.t.plainPushed += time.Duration(secs * float64(time.Second))
		}
	}
}
