// Package progress reads a build's progress stream — buildx's
// --progress rawjson, or --progress plain where rawjson is not available —
// into one model of the build: every Dockerfile step with its platform,
// stage, index, state (cached, ran, failed) and time, per-stage sums, the
// time spent importing cache, exporting and pushing, build check warnings
// and the failure with its Dockerfile line. It draws the stream live as
// buildx's plain output would, and renders the model as a JSON report and
// a Mermaid gantt chart.
//
// # Feeding it
//
// Run buildx with --progress rawjson (buildx 0.12 and later; buildx writes
// it to stderr). A buildx without rawjson ("invalid progress mode" or an
// unknown-value error before the build starts), and docker build without
// buildx (CLI 20.10), are run with --progress plain and read with Plain
// instead: the same model, with durations from the "DONE 2.3s" lines and
// start times from when lines arrived.
//
//	rec := progress.New(progress.RawJSON,
//		progress.WithRender(os.Stderr), // the live log, like --progress plain
//		progress.WithTee(rawFile))      // the raw stream, e.g. for an artifact
//	cmd.Stderr = rec                    // or io.Copy(rec, r)
//	err := cmd.Run()
//	rec.Close()
//	b := rec.Build()
//
// or, for a stream at hand, progress.Read(r, progress.RawJSON).
//
// The Recorder is stream-oriented and bounded: lines are read as they
// arrive, repeated vertices are merged by digest, each step keeps only the
// last lines of its log (WithLogTail), and lines that are not progress
// (buildx's own messages) are drawn as they are, the last ones kept in
// Build.Text (WithTextTail). A garbled or truncated stream is no error:
// what did not decode is counted in Build.Skipped, steps that never ended
// are Incomplete (Canceled when BuildKit cancelled them), and the counts
// still add up.
//
// # What a step is
//
// A step is a vertex that dockerfile2llb names "[stage N/M] INSTRUCTION …"
// (with a platform first on a multi-platform build) and whose instruction
// is not FROM: the RUN, COPY, ADD and WORKDIR of this build, for each
// platform. ARG, ENV, CMD and the like make no vertex and are not steps.
// A step is a vertex, so instructions BuildKit merges into one vertex
// because they are identical (the same COPY onto scratch in two stages or
// for two platforms) are one step, as buildx shows them; a vertex that
// BuildKit announced but never started (not needed, or not reached after
// a failure) is none (Build.Unstarted counts them). BuildKit names a RUN
// without its platform; a step takes the platform of the nearest input
// that has one (its platform's FROM), and has none when that is ambiguous
// or the stream is plain, which has no inputs.
// FROM (its image resolved or pulled), load metadata and resolve image
// config are base image work (KindBase); [internal] and [auth] vertices,
// cache imports and exporters are not steps either. They are in
// Build.Spans, timed. A step is Cached when BuildKit did not execute it:
// rawjson's cached flag, which is set also when the cached layers had to
// be pulled; plain prints no CACHED for such a step, only the layer
// downloads and DONE, so a plain step with downloads and no output of its
// own counts as cached too.
//
// # Results
//
// Build.CachedSteps, TotalSteps, CacheHit (0–100) and UncachedSeconds are
// the numbers for outputs; Build.Stages the per-stage sums; Executed the
// steps that ran, slowest first; Build.Failure the failed step, its log
// tail and the Dockerfile line from buildx's report; Build.Warnings the
// build checks with their lines (rawjson; plain gives the line only in
// buildx's summary); Report the JSON form; Gantt a Mermaid chart.
package progress
