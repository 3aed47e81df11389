package stages

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Advice is a note on a RUN step that runs a known compiler or package
// manager whose cache the step throws away: no cache mount keeps the
// tool's cache directory, or a flag or variable turns the cache off.
type Advice struct {
	// Stage is the stage's label, Line the RUN's line.
	Stage string
	Line  int
	// Tools are the commands found, e.g. "go build", "npm ci".
	Tools []string
	// Mounts are the flags to add to the RUN, one per cache directory.
	Mounts []string
	// Defeats say which flag or variable turns a cache off.
	Defeats []string
	// Message is the whole note.
	Message string
}

// cacheDir is one tool cache: where it lives and what it keeps.
type cacheDir struct {
	dir   string
	keeps string
}

// runState is what a stage has set by a RUN: its ENV, USER and WORKDIR.
type runState struct {
	env     map[string]string
	user    string
	workdir string
	image   string // the image the stage chain starts from
}

func (r runState) clone() runState {
	c := r
	c.env = map[string]string{}
	for k, v := range r.env {
		c.env[k] = v
	}
	return c
}

// Advise reads the Dockerfile dt again, with a, the analysis of the same
// Dockerfile, and gives advice for the RUN steps of the stages the build
// runs (image and builder stages).
func Advise(dt []byte, a Analysis) []Advice {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil
	}
	parsed, _, err := instructions.Parse(res.AST, nil)
	if err != nil || len(parsed) != len(a.Stages) {
		return nil
	}
	lex := shell.NewLex(res.EscapeToken)
	lex.SkipUnsetEnv = true
	states := make([]runState, len(parsed))
	var out []Advice
	for i, ps := range parsed {
		st := a.Stages[i]
		state := runState{env: map[string]string{}, image: st.Base}
		if st.BaseStage >= 0 {
			state = states[st.BaseStage].clone()
		}
		for _, cmd := range ps.Commands {
			switch c := cmd.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if v, _, err := lex.ProcessWord(kv.Value, state); err == nil {
						state.env[kv.Key] = v
					}
				}
			case *instructions.UserCommand:
				state.user = c.User
			case *instructions.WorkdirCommand:
				if path.IsAbs(c.Path) {
					state.workdir = path.Clean(c.Path)
				} else {
					state.workdir = path.Join("/", state.workdir, c.Path)
				}
			case *instructions.RunCommand:
				if st.Role != Image && st.Role != Builder {
					continue
				}
				if adv, ok := adviseRun(lex, c, state); ok {
					adv.Stage, adv.Line = st.Label(), line(c.Location())
					adv.Message = fmt.Sprintf("cache mounts: line %d (stage %q): %s", adv.Line, adv.Stage, adv.Message)
					out = append(out, adv)
				}
			}
		}
		states[i] = state
	}
	return out
}

// Get makes a runState the lexer's environment.
func (r runState) Get(k string) (string, bool) {
	v, ok := r.env[k]
	return v, ok
}

// Keys lists the environment's names.
func (r runState) Keys() []string {
	var ks []string
	for k := range r.env {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// adviseRun finds the tools one RUN runs and what their caches lack.
func adviseRun(lex *shell.Lex, c *instructions.RunCommand, state runState) (Advice, bool) {
	// Without an expander the parser reads only a mount's from=; the
	// frontend expands the rest with the stage's environment.
	expand := func(w string) (string, error) {
		r, _, err := lex.ProcessWord(w, state)
		return r, err
	}
	if err := c.Expand(expand); err != nil {
		return Advice{}, false
	}
	var mounted []string
	for _, m := range instructions.GetMounts(c) {
		if m.Type != instructions.MountTypeCache || m.Target == "" {
			continue
		}
		t := m.Target
		if !path.IsAbs(t) {
			t = path.Join("/", state.workdir, t)
		}
		mounted = append(mounted, path.Clean(t))
	}
	var scripts []string
	if c.PrependShell {
		scripts = append(scripts, strings.Join(c.CmdLine, " "))
	}
	for _, f := range c.Files {
		scripts = append(scripts, f.Data)
	}
	var adv Advice
	var missing []cacheDir
	var flagsFor []string // "--no-cache-dir" and the like, dropped with a mount
	add := func(tool string, dirs []cacheDir) {
		if !slices.Contains(adv.Tools, tool) {
			adv.Tools = append(adv.Tools, tool)
		}
		for _, d := range dirs {
			if d.dir == "" || covered(d.dir, mounted) || slices.ContainsFunc(missing, func(m cacheDir) bool { return m.dir == d.dir }) {
				continue
			}
			missing = append(missing, d)
		}
	}
	defeat := func(s string) {
		if !slices.Contains(adv.Defeats, s) {
			adv.Defeats = append(adv.Defeats, s)
		}
	}
	handle := func(words []string) {
		env := state.clone()
		words = commandWords(words, env)
		if len(words) == 0 {
			return
		}
		t := toolCommand(words, env, mounted)
		if t.tool == "" {
			return
		}
		add(t.tool, t.dirs)
		for _, d := range t.defeats {
			defeat(d)
		}
		flagsFor = append(flagsFor, t.dropWithMount...)
	}
	if !c.PrependShell {
		handle(c.CmdLine)
	}
	for _, s := range scripts {
		for _, simple := range splitCommands(s) {
			words, err := lex.ProcessWords(simple, state)
			if err != nil {
				continue
			}
			handle(words)
		}
	}
	if len(missing) == 0 && len(adv.Defeats) == 0 {
		return Advice{}, false
	}
	var parts []string
	if len(missing) > 0 {
		uid := mountOwner(state.user)
		var keeps []string
		for _, m := range missing {
			adv.Mounts = append(adv.Mounts, "--mount=type=cache,target="+m.dir+uid)
			keeps = append(keeps, m.keeps)
		}
		p := fmt.Sprintf("%s runs without a cache mount: add %s to the RUN to keep %s between builds (on cold builders too, with cache-mounts: registry)",
			strings.Join(adv.Tools, ", "), strings.Join(adv.Mounts, " "), joinAnd(keeps))
		if uid == "" && state.user != "" && !isRoot(state.user) {
			p += fmt.Sprintf("; BuildKit makes a cache mount owned by root: add uid= and gid= of user %s", state.user)
		}
		if len(flagsFor) > 0 {
			p += fmt.Sprintf(", and drop %s, which only keeps the cache out of the layer", strings.Join(flagsFor, ", "))
		}
		parts = append(parts, p)
	}
	parts = append(parts, adv.Defeats...)
	adv.Message = strings.Join(parts, "; ")
	return adv, true
}

// covered reports whether a cache mount keeps dir: mounted at it or at a
// directory above it (or below it: the user chose to keep a part).
func covered(dir string, mounted []string) bool {
	for _, m := range mounted {
		if m == dir || strings.HasPrefix(dir, m+"/") || m == "/" || strings.HasPrefix(m, dir+"/") {
			return true
		}
	}
	return false
}

// mountOwner is the uid,gid flags for a numeric USER: BuildKit creates a
// cache mount owned by root, which another user cannot write.
func mountOwner(user string) string {
	if user == "" || isRoot(user) {
		return ""
	}
	u, g, _ := strings.Cut(user, ":")
	if _, err := strconv.Atoi(u); err != nil {
		return ""
	}
	if g == "" {
		g = u
	}
	if _, err := strconv.Atoi(g); err != nil {
		return ""
	}
	return ",uid=" + u + ",gid=" + g
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}

// commandWords strips what precedes the command itself: variable
// assignments (which go into env, as the command sees them) and wrappers
// that run the rest (env, sudo, exec, time, nice).
func commandWords(words []string, env runState) []string {
	for len(words) > 0 {
		w := words[0]
		if k, v, ok := strings.Cut(w, "="); ok && k != "" && !strings.ContainsAny(k, "/-$") {
			env.env[k] = v
			words = words[1:]
			continue
		}
		switch path.Base(w) {
		case "env", "sudo", "exec", "time", "nice", "command":
			words = words[1:]
			for len(words) > 0 && strings.HasPrefix(words[0], "-") {
				words = words[1:]
			}
			continue
		}
		return words
	}
	return nil
}

// splitCommands cuts a shell script into its simple commands at the
// operators that end one (;, &&, ||, |, &, newlines, parentheses and
// braces), outside quotes; each is then read as words by BuildKit's own
// shell lexer. It need not be a full shell parser: only the command
// names and their flags matter here.
func splitCommands(script string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	escaped := false
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, r := range script {
		switch {
		case escaped:
			escaped = false
			if r == '\n' {
				cur.WriteRune(' ')
				continue
			}
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && strings.TrimSpace(cur.String()) == "":
			// A comment line: skip to its end.
			quote = '\n'
			continue
		case strings.ContainsRune(";&|\n(){}", r):
			flush()
			continue
		}
		if quote == '\n' {
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
