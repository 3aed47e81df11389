package cachemeta

import (
	"fmt"
	"slices"
	"strings"
)

// Summary is what a payload says about an image of a given layer count.
type Summary struct {
	Records           int `json:"records"`
	RecordsWithLayers int `json:"recordsWithLayers"`
	// LayersCovered counts the image layers some cached result reaches.
	LayersCovered int `json:"layersCovered"`
	LayersTotal   int `json:"layersTotal"`
	// CoveredPrefix is how many layers from the bottom are all reachable:
	// a later build can reuse at most this much of the image in one go.
	CoveredPrefix int `json:"coveredPrefix,omitempty"`
	// Problems make the cache unusable or suspect; empty means valid.
	Problems []string `json:"problems,omitempty"`
	// Notes are worth knowing but do not make the cache unusable.
	Notes []string `json:"notes,omitempty"`
	// Layers says, per image layer, which step made it and whether it is cached.
	Layers []Layer `json:"layers,omitempty"`
	// Graph summarises how the records link to each other.
	Graph *Graph `json:"graph,omitempty"`
}

// Layer is one image layer as the cache sees it.
type Layer struct {
	Index int `json:"index"`
	// Step is the history entry's created_by (the Dockerfile step); empty
	// when the history does not line up with the layers.
	Step string `json:"step,omitempty"`
	// Cached means some cached result reaches this layer.
	Cached bool `json:"cached"`
	// Results counts the cached results whose top layer this is: the steps
	// whose output a later build can take from here.
	Results int `json:"results"`
}

// Graph is the shape of the records graph.
type Graph struct {
	Records int `json:"records"`
	// Roots are records without inputs (sources such as FROM or the context).
	Roots int `json:"roots"`
	// MaxDepth is the longest chain of input links from a root.
	MaxDepth int `json:"maxDepth"`
	// Chains counts chained results (COPY --link and other rebased layers).
	Chains int `json:"chains"`
	// Links counts input links between records.
	Links int `json:"links"`
}

// Valid reports whether BuildKit can import this cache and it holds results.
func (s Summary) Valid() bool { return len(s.Problems) == 0 && s.RecordsWithLayers > 0 }

// CachedSteps lists the steps of the cached layers, bottom first.
func (s Summary) CachedSteps() []string {
	var out []string
	for _, l := range s.Layers {
		if l.Cached && l.Step != "" {
			out = append(out, l.Step)
		}
	}
	return out
}

// Analyze checks every index in the payload against an image with the given
// number of layers, as BuildKit's importer would, and works out what the
// cache covers. A result for layer i stands for the chain of layers 0..i
// (inline cache gives layer i the parent i-1); a chained result lists its
// layers.
func Analyze(p Payload, layers int) Summary {
	s := Summary{Records: len(p.Records), LayersTotal: layers}
	problem := func(format string, a ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, a...)) }
	if layers == 0 {
		problem("the image has no layers, so the cache can hold no results")
	}
	if p.DiffIDs != layers {
		problem("config lists %d rootfs.diff_ids but the manifest has %d layers: BuildKit ignores this cache", p.DiffIDs, layers)
	}
	covered := make([]bool, layers)
	tops := make([]int, layers)
	// reach is the highest layer a plain result reaches: the layers below
	// it are covered too, marked once after the loop so that a hostile
	// payload of many results costs records + layers, not their product.
	reach := -1
	s.Problems = append(s.Problems, checkRecords(p.Records, layers, fmt.Sprintf("the image has %d layers", layers))...)
	for _, r := range p.Records {
		if len(r.Results)+len(r.ChainedResults) > 0 {
			s.RecordsWithLayers++
		}
		for _, res := range r.Results {
			if res.LayerIndex < 0 || res.LayerIndex >= layers {
				continue // a problem above
			}
			reach = max(reach, res.LayerIndex)
			tops[res.LayerIndex]++
		}
		for _, ch := range r.ChainedResults {
			if len(ch.LayerIndexes) == 0 || slices.ContainsFunc(ch.LayerIndexes, func(idx int) bool { return idx < 0 || idx >= layers }) {
				continue
			}
			for _, idx := range ch.LayerIndexes {
				covered[idx] = true
			}
			tops[ch.LayerIndexes[len(ch.LayerIndexes)-1]]++
		}
	}
	for j := 0; j <= reach; j++ {
		covered[j] = true
	}
	g, cycle := graph(p.Records)
	s.Graph = &g
	if cycle != "" {
		problem("%s", cycle)
	}
	prefix := true
	for _, c := range covered {
		if c {
			s.LayersCovered++
		}
		prefix = prefix && c
		if prefix {
			s.CoveredPrefix++
		}
	}
	if s.RecordsWithLayers == 0 && layers > 0 {
		problem("no cache record points at a layer: nothing can be reused")
	}
	steps, note := layerSteps(p.History, layers)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	for i := range layers {
		s.Layers = append(s.Layers, Layer{Index: i, Step: steps[i], Cached: covered[i], Results: tops[i]})
	}
	return s
}

// checkRecords finds what makes BuildKit's importer refuse records, in
// the inline form and the registry form alike: a result or chain naming a
// layer index outside [0, layers) (where says what the layers are), and an
// input that lists no link or links outside the records.
func checkRecords(recs []Record, layers int, where string) []string {
	var out []string
	problem := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	for i, r := range recs {
		for _, res := range r.Results {
			if res.LayerIndex < 0 || res.LayerIndex >= layers {
				problem("record %d: result layer index %d is out of range (%s)", i, res.LayerIndex, where)
			}
		}
		for c, ch := range r.ChainedResults {
			for _, idx := range ch.LayerIndexes {
				if idx < 0 || idx >= layers {
					problem("record %d: chain %d layer index %d is out of range (%s)", i, c, idx, where)
				}
			}
		}
		for g, group := range r.Inputs {
			if len(group) == 0 {
				problem("record %d: input %d lists no link (BuildKit rejects empty inputs)", i, g)
			}
			for _, in := range group {
				if in.LinkIndex < 0 || in.LinkIndex >= len(recs) {
					problem("record %d: input link %d is out of range (the cache has %d records)", i, in.LinkIndex, len(recs))
				}
			}
		}
	}
	return out
}

// layerSteps names the step behind each layer: the history entries that
// are not empty_layer line up, in order, with the manifest's layers.
func layerSteps(history []HistoryStep, layers int) ([]string, string) {
	steps := make([]string, layers)
	var made []string
	for _, h := range history {
		if !h.EmptyLayer {
			made = append(made, h.CreatedBy)
		}
	}
	if len(history) == 0 {
		return steps, "the config has no history, so layers cannot be named by step"
	}
	if len(made) != layers {
		return steps, fmt.Sprintf("the config history has %d layer-making entries for %d layers, so layers cannot be named by step", len(made), layers)
	}
	copy(steps, made)
	return steps, ""
}

// graph measures the records graph and describes a cycle in it, if any
// (links out of range are reported by checkRecords and skipped here).
func graph(recs []Record) (Graph, string) {
	g := Graph{Records: len(recs)}
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(recs))
	depth := make([]int, len(recs))
	var stack []int
	var cycle []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = active
		stack = append(stack, i)
		for _, group := range recs[i].Inputs {
			for _, in := range group {
				j := in.LinkIndex
				if j < 0 || j >= len(recs) {
					continue
				}
				switch state[j] {
				case unseen:
					visit(j)
				case active:
					if cycle == nil {
						for k := len(stack) - 1; k >= 0; k-- {
							if stack[k] == j {
								cycle = append(append([]int{}, stack[k:]...), j)
								break
							}
						}
					}
					continue
				}
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i, r := range recs {
		links := 0
		for _, group := range r.Inputs {
			links += len(group)
		}
		g.Links += links
		if links == 0 {
			g.Roots++
		}
		g.Chains += len(r.ChainedResults)
		if state[i] == unseen {
			visit(i)
		}
		g.MaxDepth = max(g.MaxDepth, depth[i])
	}
	if cycle == nil {
		return g, ""
	}
	parts := make([]string, len(cycle))
	for i, r := range cycle {
		parts[i] = fmt.Sprint(r)
	}
	return g, fmt.Sprintf("records link in a cycle (%s): BuildKit refuses a looping record", strings.Join(parts, " → "))
}
