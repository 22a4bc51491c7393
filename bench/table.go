package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Row is one line of the side-by-side table: one test at one pipeline depth
// and value size, with the median result of each server. A nil Redis or
// Basalt means every run of that server failed for this combination; the
// table says "error" there rather than dropping the row.
type Row struct {
	Test     string
	Pipeline int
	Size     int
	Redis    *Result
	Basalt   *Result
	// RedisErr and BasaltErr say why a nil side failed, when known (e.g.
	// redis-benchmark's "Error from server: ERR unknown command ...").
	RedisErr, BasaltErr string
}

// Ratio is Basalt ops/s divided by Redis ops/s; ok is false when either side
// is missing or Redis measured zero.
func (r Row) Ratio() (ratio float64, ok bool) {
	if r.Redis == nil || r.Basalt == nil || r.Redis.RPS <= 0 {
		return 0, false
	}
	return r.Basalt.RPS / r.Redis.RPS, true
}

// Env describes the machine and the run, printed above the table so that the
// output can be pasted into a README as is.
type Env struct {
	Title         string // heading; empty means "Basalt vs Redis, side by side"
	Date          time.Time
	NProc         int
	CPUModel      string
	OSArch        string // e.g. "linux/amd64"
	GoVersion     string
	RedisVersion  string // as redis-server --version / INFO reports it
	RedisBin      string
	BasaltVersion string // redis_version from Basalt's INFO, if it answers
	BasaltBin     string // path of the binary run, or how it was built
	Commit        string // git revision of the Basalt tree, if known
	CommandLine   string // the command that produced this report
	// Method lists free-form lines describing how each run was made (the
	// redis-benchmark command template, rounds, server flags).
	Method []string
}

// WriteHeader writes the Markdown preamble describing env.
func WriteHeader(w io.Writer, env Env) error {
	var b strings.Builder
	title := env.Title
	if title == "" {
		title = "Basalt vs Redis, side by side"
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "- date: %s\n", env.Date.UTC().Format("2006-01-02 15:04 MST"))
	machine := fmt.Sprintf("nproc %d", env.NProc)
	if env.CPUModel != "" {
		machine += ", " + env.CPUModel
	}
	if env.OSArch != "" {
		machine += ", " + env.OSArch
	}
	fmt.Fprintf(&b, "- machine: %s\n", machine)
	fmt.Fprintf(&b, "- redis-server: %s (`%s`)\n", orUnknown(env.RedisVersion), env.RedisBin)
	basalt := fmt.Sprintf("`%s`", env.BasaltBin)
	if env.Commit != "" {
		basalt += ", commit " + env.Commit
	}
	if env.BasaltVersion != "" {
		basalt += ", reports redis_version " + env.BasaltVersion
	}
	if env.GoVersion != "" {
		basalt += ", " + env.GoVersion
	}
	fmt.Fprintf(&b, "- basalt: %s\n", basalt)
	fmt.Fprintf(&b, "- command: `%s`\n", env.CommandLine)
	for _, m := range env.Method {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTable writes rows as one Markdown table. Ops/s are rounded to whole
// operations, latencies keep redis-benchmark's three decimals (ms). Failed
// cells read "error"; where the reason is known, a list after the table
// gives it, one line per server, test and reason.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| test | pipeline | value bytes | Redis ops/s | Redis p50 ms | Redis p99 ms | Basalt ops/s | Basalt p50 ms | Basalt p99 ms | Basalt/Redis ops |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		ratio := "n/a"
		if x, ok := r.Ratio(); ok {
			ratio = fmt.Sprintf("%.2f", x)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s |\n",
			strings.ReplaceAll(r.Test, "|", `\|`), r.Pipeline, r.Size, cells(r.Redis), cells(r.Basalt), ratio)
	}
	writeErrors(&b, rows)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeErrors lists why cells failed: one line per server, test and reason,
// naming the pipeline depths and sizes it covers, in row order.
func writeErrors(b *strings.Builder, rows []Row) {
	type key struct{ server, test, reason string }
	var order []key
	where := map[key][]string{}
	for _, r := range rows {
		for _, s := range [...]struct {
			name   string
			failed bool
			reason string
		}{{"Redis", r.Redis == nil, r.RedisErr}, {"Basalt", r.Basalt == nil, r.BasaltErr}} {
			if !s.failed || s.reason == "" {
				continue
			}
			k := key{s.name, r.Test, s.reason}
			if _, ok := where[k]; !ok {
				order = append(order, k)
			}
			where[k] = append(where[k], fmt.Sprintf("-P %d -d %d", r.Pipeline, r.Size))
		}
	}
	if len(order) == 0 {
		return
	}
	b.WriteString("\nFailed cells:\n\n")
	for _, k := range order {
		fmt.Fprintf(b, "- %s, %s (%s): %s\n", k.server, k.test, strings.Join(where[k], "; "), k.reason)
	}
}

// cells formats one server's ops/s, p50 and p99 as three table cells.
func cells(r *Result) string {
	if r == nil {
		return "error | error | error"
	}
	return fmt.Sprintf("%.0f | %.3f | %.3f", r.RPS, r.P50, r.P99)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
