package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The persistence dataset mixes types: in every 1000 keys, 10 small hashes,
// one list, one sorted set, and strings for the rest.
const (
	persistHashFields  = 10
	persistListLen     = 100
	persistZSetMembers = 200 // above zset-max-listpack-entries: a skiplist in Redis
)

// persistKind is the type of key i of PersistDataset.
func persistKind(i int) byte {
	switch {
	case i%100 == 1:
		return 'h'
	case i%1000 == 2:
		return 'l'
	case i%1000 == 3:
		return 'z'
	}
	return 's'
}

// PersistDataset is n keys of mixed types, one command each: per 1000 keys
// 988 strings (`SET key:<i> <10-byte value>`), 10 hashes of 10 fields, one
// list of 100 elements and one sorted set of 200 members, values as in the
// memory table (10 bytes, distinct). Loaded, DBSIZE must be n.
func PersistDataset(n int) Dataset {
	return Dataset{
		Name: "mixed",
		Desc: fmt.Sprintf("mixed: per 1000 keys 988 `SET key:<i> <10-byte value>`, 10 hashes of %d fields, a list of %d, a sorted set of %d",
			persistHashFields, persistListLen, persistZSetMembers),
		Unit: "key", Units: "keys",
		Elements: n, Commands: n, Count: []string{"DBSIZE"},
		Write: func(w *CommandWriter, i int) {
			switch persistKind(i) {
			case 'h':
				w.Array(2 + 2*persistHashFields)
				w.Bulk("HSET")
				w.BulkInt("hash:", i)
				for f := range persistHashFields {
					w.BulkInt("f", f)
					w.Value(i*persistHashFields + f)
				}
			case 'l':
				w.Array(2 + persistListLen)
				w.Bulk("RPUSH")
				w.BulkInt("list:", i)
				for e := range persistListLen {
					w.Value(i*persistListLen + e)
				}
			case 'z':
				w.Array(2 + 2*persistZSetMembers)
				w.Bulk("ZADD")
				w.BulkInt("zset:", i)
				for m := range persistZSetMembers {
					w.BulkInt("", Score(i*persistZSetMembers+m))
					w.BulkInt("m", m)
				}
			default:
				w.Array(3)
				w.Bulk("SET")
				w.BulkInt("key:", i)
				w.Value(i)
			}
		},
	}
}

// PersistWrite overwrites a random string key of PersistDataset(n) with a
// new 10-byte value: the write load during BGSAVE and BGREWRITEAOF. The
// key count stays n, the memory the data needs stays the same, and every
// write dirties a page somewhere in the keyspace.
func PersistWrite(n int) func(w *CommandWriter, rnd *rand.Rand) {
	return func(w *CommandWriter, rnd *rand.Rand) {
		i := rnd.IntN(n)
		for persistKind(i) != 's' { // key 0 is a string
			i--
		}
		w.Array(3)
		w.Bulk("SET")
		w.BulkInt("key:", i)
		w.Value(rnd.IntN(1000000000))
	}
}

// PersistConfig says what the persistence tables measure.
type PersistConfig struct {
	RedisBin, BasaltBin string
	Loops               int // Basalt --loops; 0 leaves Basalt's default
	Keys                int // keys of PersistDataset
	Batch               int // commands per pipelined batch while loading
	Rounds              int // fresh servers per round; cells are medians
	RDB, AOF            bool
	// Writers and WriteBatch shape the write load during the snapshots:
	// connections, and SETs each writes before reading their replies.
	Writers, WriteBatch int
	// Warmup is how long the write load runs before the steady window;
	// Steady is the window whose largest RSS is "before".
	Warmup, Steady time.Duration
	Interval       time.Duration // RSS sampling and INFO polling period
	Timeout        time.Duration // limit for one BGSAVE or BGREWRITEAOF
	DataDir        string        // the servers' RDB and AOF files, a fresh folder each
	Dir            string        // server logs; must exist
	Proc           ProcFS
	Progress       io.Writer
}

// DefaultPersistConfig is the full-size run: 1M keys, 2 writers of 100
// SETs a batch, 1 s warm-up, 1 s steady window, 10 ms sampling. Paths and
// executables are left for the caller.
func DefaultPersistConfig() PersistConfig {
	return PersistConfig{
		RedisBin:   "redis-server",
		Keys:       1000000,
		Batch:      1000,
		Rounds:     1,
		RDB:        true,
		AOF:        true,
		Writers:    2,
		WriteBatch: 100,
		Warmup:     time.Second,
		Steady:     time.Second,
		Interval:   10 * time.Millisecond,
		Timeout:    5 * time.Minute,
		Proc:       SystemProc(),
	}
}

func (c PersistConfig) validate() error {
	switch {
	case c.RedisBin == "" || c.BasaltBin == "" || c.Dir == "" || c.DataDir == "" || c.Proc.FS == nil:
		return errors.New("bench: persistence config needs executables, Dir, DataDir and Proc")
	case c.Keys < 1 || c.Batch < 1 || c.Rounds < 1 || c.Writers < 1 || c.WriteBatch < 1:
		return errors.New("bench: keys, batch, rounds, writers and write batch must be at least 1")
	case c.Interval <= 0 || c.Timeout <= 0 || c.Warmup < 0 || c.Steady < 0:
		return errors.New("bench: interval and timeout must be positive, warm-up and steady not negative")
	case !c.RDB && !c.AOF:
		return errors.New("bench: nothing to measure (neither RDB nor AOF)")
	}
	return nil
}

// LoadResult is one server's start-up on its own files.
type LoadResult struct {
	FileBytes int64         // the dump.rdb, or every file of the AOF folder
	Time      time.Duration // from starting the process to the first PONG
}

// SnapResult is one server's BGSAVE or BGREWRITEAOF under write load.
type SnapResult struct {
	Before  int64 // largest RSS over the steady window, writes running
	Peak    int64 // largest RSS sum of the process and its children during the operation
	PeakPSS int64 // largest PSS sum during the operation; -1 when unknown
	Procs   int   // most processes at once (2 while Redis's fork lives)
	Time    time.Duration
	Writes  float64 // SETs answered per second during the operation
	Steady  float64 // SETs answered per second during the steady window
}

// Growth is Peak over Before.
func (s SnapResult) Growth() float64 { return float64(s.Peak) / float64(s.Before) }

// LoadRow is one line of the start-up table: RDB or AOF.
type LoadRow struct {
	Kind                string // "RDB" or "AOF"
	Keys                int
	Redis, Basalt       *LoadResult
	RedisErr, BasaltErr string
}

// Ratio is Basalt's start-up time over Redis's.
func (r LoadRow) Ratio() (float64, bool) {
	if r.Redis == nil || r.Basalt == nil || r.Redis.Time <= 0 {
		return 0, false
	}
	return r.Basalt.Time.Seconds() / r.Redis.Time.Seconds(), true
}

// SnapRow is one line of the snapshot table: BGSAVE or BGREWRITEAOF.
type SnapRow struct {
	Op                  string
	Keys                int
	Redis, Basalt       *SnapResult
	RedisErr, BasaltErr string
}

// Ratios are Basalt's peak RSS and time over Redis's.
func (r SnapRow) Ratios() (peak, time float64, ok bool) {
	if r.Redis == nil || r.Basalt == nil || r.Redis.Peak <= 0 || r.Redis.Time <= 0 {
		return 0, 0, false
	}
	return float64(r.Basalt.Peak) / float64(r.Redis.Peak), r.Basalt.Time.Seconds() / r.Redis.Time.Seconds(), true
}

// persistSide collects one server's results over the rounds.
type persistSide struct {
	loads [2][]LoadResult // RDB, AOF
	snaps [2][]SnapResult // BGSAVE, BGREWRITEAOF
	errs  [2]string       // last failure of the RDB and of the AOF phase
}

// RunPersist runs, per round, Redis then Basalt (never both at once):
//
//   - RDB: a fresh server (appendonly no) loads PersistDataset, SAVEs and
//     stops; a new process on that folder is timed to its first PONG and
//     its DBSIZE checked; on it, under write load, BGSAVE is measured.
//   - AOF: the same with appendonly yes (appendfsync everysec, no automatic
//     rewrite): the load is logged, the server stopped, a new process
//     replays the log, and BGREWRITEAOF is measured on it.
//
// A failure fails that server's cells of that phase only; the error
// returned is the context's.
func RunPersist(ctx context.Context, cfg PersistConfig) ([]LoadRow, []SnapRow, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	ds := PersistDataset(cfg.Keys)
	var sides [2]persistSide
	for round := 1; round <= cfg.Rounds; round++ {
		for s, name := range [2]string{"redis", "basalt"} {
			for phase, on := range [2]bool{cfg.RDB, cfg.AOF} {
				if !on {
					continue
				}
				progressf(cfg.Progress, "round %d/%d: %s, %s, %d keys\n", round, cfg.Rounds, name, [2]string{"RDB", "AOF"}[phase], cfg.Keys)
				load, snap, err := persistPhase(ctx, cfg, ds, name, phase == 1)
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				if err != nil {
					progressf(cfg.Progress, "warning: %s: %v\n", name, err)
					sides[s].errs[phase] = err.Error()
					continue
				}
				sides[s].loads[phase] = append(sides[s].loads[phase], load)
				sides[s].snaps[phase] = append(sides[s].snaps[phase], snap)
			}
		}
	}
	var loads []LoadRow
	var snaps []SnapRow
	for phase, on := range [2]bool{cfg.RDB, cfg.AOF} {
		if !on {
			continue
		}
		lr := LoadRow{Kind: [2]string{"RDB", "AOF"}[phase], Keys: cfg.Keys}
		sr := SnapRow{Op: [2]string{"BGSAVE", "BGREWRITEAOF"}[phase], Keys: cfg.Keys}
		lr.Redis, lr.RedisErr = medianLoad(sides[0].loads[phase]), sides[0].errs[phase]
		lr.Basalt, lr.BasaltErr = medianLoad(sides[1].loads[phase]), sides[1].errs[phase]
		sr.Redis, sr.RedisErr = medianSnap(sides[0].snaps[phase]), sides[0].errs[phase]
		sr.Basalt, sr.BasaltErr = medianSnap(sides[1].snaps[phase]), sides[1].errs[phase]
		loads, snaps = append(loads, lr), append(snaps, sr)
	}
	return loads, snaps, nil
}

// persistArgs are the flags of one server of one phase. Both servers get
// the same ones; Basalt may get --loops.
func persistArgs(cfg PersistConfig, name string, port int, dir string, aof bool) []string {
	var args []string
	if aof {
		args = AOFServerArgs(port, "everysec", dir, "--auto-aof-rewrite-percentage", "0")
	} else {
		args = ServerArgs(port, "--dir", dir, "--dbfilename", "dump.rdb")
	}
	if name == "basalt" && cfg.Loops > 0 {
		args = append(args, "--loops", strconv.Itoa(cfg.Loops))
	}
	return args
}

// persistPhase is one server's RDB (aof false) or AOF phase. The data
// folder is removed afterwards unless the phase failed.
func persistPhase(ctx context.Context, cfg PersistConfig, ds Dataset, name string, aof bool) (LoadResult, SnapResult, error) {
	kind := map[bool]string{false: "rdb", true: "aof"}[aof]
	dir, err := os.MkdirTemp(cfg.DataDir, name+"-"+kind+"-")
	if err != nil {
		return LoadResult{}, SnapResult{}, err
	}
	bin := cfg.RedisBin
	if name == "basalt" {
		bin = cfg.BasaltBin
	}
	start := func(suffix string) (*Server, time.Duration, error) {
		port, err := FreePort()
		if err != nil {
			return nil, 0, err
		}
		t0 := time.Now()
		srv, err := StartServer(ctx, name, bin, persistArgs(cfg, name, port, dir, aof), port,
			filepath.Join(cfg.Dir, fmt.Sprintf("%s-%s-%s.log", name, kind, suffix)))
		return srv, time.Since(t0), err
	}

	// Write the files.
	srv, _, err := start("write")
	if err != nil {
		return LoadResult{}, SnapResult{}, err
	}
	t0 := time.Now()
	err = Load(ctx, srv.Addr(), ds, cfg.Batch)
	if err == nil && !aof {
		var c *Conn
		if c, err = srv.Dial(ctx); err == nil {
			_, err = c.DoWithin(cfg.Timeout, "SAVE")
			c.Close()
		}
	}
	srv.Stop()
	if err != nil {
		return LoadResult{}, SnapResult{}, fmt.Errorf("writing the %s files: %w", kind, err)
	}
	var load LoadResult
	if load.FileBytes, err = dirBytes(dir); err != nil {
		return LoadResult{}, SnapResult{}, err
	}
	progressf(cfg.Progress, "  %-6s loaded %d keys in %.1fs, %s MiB of %s files\n", name, ds.Elements, time.Since(t0).Seconds(), mib(load.FileBytes), kind)

	// Time a fresh start on them, then snapshot under writes.
	srv, load.Time, err = start("load")
	if err != nil {
		return LoadResult{}, SnapResult{}, err
	}
	defer srv.Stop()
	if got, err := srv.Do(ctx, ds.Count...); err != nil || got != strconv.Itoa(ds.Elements) {
		return LoadResult{}, SnapResult{}, fmt.Errorf("after start-up on the %s files DBSIZE answered %q (%v), want %d", kind, got, err, ds.Elements)
	}
	progressf(cfg.Progress, "  %-6s start-up on %s: %.3fs\n", name, kind, load.Time.Seconds())
	op := map[bool]string{false: "BGSAVE", true: "BGREWRITEAOF"}[aof]
	snap, err := measureSnapshot(ctx, cfg, srv, op, PersistWrite(ds.Elements))
	if err != nil {
		return LoadResult{}, SnapResult{}, fmt.Errorf("%s: %w", op, err)
	}
	pss := "n/a"
	if snap.PeakPSS >= 0 {
		pss = mib(snap.PeakPSS)
	}
	progressf(cfg.Progress, "  %-6s %s: %.3fs, RSS %s -> peak %s MiB (x%.2f), peak PSS %s MiB, %d processes, SETs/s %.0f steady, %.0f during\n",
		name, op, snap.Time.Seconds(), mib(snap.Before), mib(snap.Peak), snap.Growth(), pss, snap.Procs, snap.Steady, snap.Writes)
	srv.Stop()
	os.RemoveAll(dir)
	return load, snap, nil
}

// dirBytes is the size of every regular file under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

// snapFields are the INFO persistence fields that tell one operation's
// progress: running, the completed count, the last status.
type snapFields struct{ running, count, status string }

var snapInfo = map[string]snapFields{
	"BGSAVE":       {"rdb_bgsave_in_progress", "rdb_saves", "rdb_last_bgsave_status"},
	"BGREWRITEAOF": {"aof_rewrite_in_progress", "aof_rewrites", "aof_last_bgrewrite_status"},
}

// snapState is one INFO persistence reading for op.
type snapState struct {
	running   bool
	scheduled bool // aof_rewrite_scheduled: a rewrite waits for a child
	count     int64
	status    string
}

func parseSnapState(info, op string) (snapState, error) {
	f := snapInfo[op]
	run, cnt := infoField(info, f.running), infoField(info, f.count)
	n, err := strconv.ParseInt(cnt, 10, 64)
	if (run != "0" && run != "1") || err != nil {
		return snapState{}, fmt.Errorf("INFO persistence has %s:%q and %s:%q", f.running, run, f.count, cnt)
	}
	return snapState{
		running:   run == "1",
		scheduled: infoField(info, "aof_rewrite_scheduled") == "1",
		count:     n,
		status:    infoField(info, f.status),
	}, nil
}

// measureSnapshot runs op (BGSAVE or BGREWRITEAOF) on srv under a write
// load: the load runs cfg.Warmup, then its RSS is sampled over cfg.Steady
// (the largest is "before"), then op is sent and the RSS of the server and
// its children sampled every cfg.Interval until INFO persistence says op
// has finished (not running, the completed count up by one) with status
// ok.
func measureSnapshot(ctx context.Context, cfg PersistConfig, srv *Server, op string, write func(*CommandWriter, *rand.Rand)) (SnapResult, error) {
	conn, err := srv.Dial(ctx)
	if err != nil {
		return SnapResult{}, err
	}
	defer conn.Close()
	state := func() (snapState, error) {
		info, err := conn.Do("INFO", "persistence")
		if err != nil {
			return snapState{}, err
		}
		return parseSnapState(info, op)
	}
	st0, err := state()
	if err != nil {
		return SnapResult{}, err
	}
	load, err := StartWriteLoad(ctx, srv.Addr(), cfg.Writers, cfg.WriteBatch, write)
	if err != nil {
		return SnapResult{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			load.Stop()
		}
	}()
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return SnapResult{}, err
	}
	var res SnapResult
	ops0, t0 := load.Ops(), time.Now()
	steady := SampleTree(cfg.Proc, srv.PID(), cfg.Interval)
	err = sleepCtx(ctx, cfg.Steady)
	before := steady.Stop()
	if err != nil {
		return SnapResult{}, err
	}
	if before.Err != nil || before.Samples == 0 {
		return SnapResult{}, fmt.Errorf("reading RSS: %v", before.Err)
	}
	res.Before = before.RSS
	res.Steady = float64(load.Ops()-ops0) / time.Since(t0).Seconds()

	peak := SampleTree(cfg.Proc, srv.PID(), cfg.Interval)
	ops0, t0 = load.Ops(), time.Now()
	reply, err := conn.Do(op)
	var st snapState
	for err == nil {
		if st, err = state(); err != nil {
			break
		}
		if !st.running && !st.scheduled && st.count > st0.count {
			break
		}
		if time.Since(t0) > cfg.Timeout {
			err = fmt.Errorf("still running after %v", cfg.Timeout)
			break
		}
		err = sleepCtx(ctx, cfg.Interval)
	}
	res.Time = time.Since(t0)
	res.Writes = float64(load.Ops()-ops0) / res.Time.Seconds()
	pk := peak.Stop()
	stopped = true
	loadErr := load.Stop()
	switch {
	case err != nil:
		return SnapResult{}, err
	case pk.Err != nil || pk.Samples == 0:
		return SnapResult{}, fmt.Errorf("reading RSS: %v", pk.Err)
	case st.status != "ok":
		return SnapResult{}, fmt.Errorf("%s answered %q, then finished with status %q", op, reply, st.status)
	case loadErr != nil:
		return SnapResult{}, loadErr
	}
	res.Peak, res.PeakPSS, res.Procs = pk.RSS, pk.PSS, pk.Procs
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// medianOf is the median of f over xs.
func medianOf[T any](xs []T, f func(T) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return Median(v)
}

func medianLoad(rs []LoadResult) *LoadResult {
	if len(rs) == 0 {
		return nil
	}
	return &LoadResult{
		FileBytes: int64(medianOf(rs, func(r LoadResult) float64 { return float64(r.FileBytes) })),
		Time:      time.Duration(medianOf(rs, func(r LoadResult) float64 { return float64(r.Time) })),
	}
}

// medianSnap takes each field's median over the rounds (PSS stays -1 when
// any round could not read it).
func medianSnap(rs []SnapResult) *SnapResult {
	if len(rs) == 0 {
		return nil
	}
	m := &SnapResult{
		Before:  int64(medianOf(rs, func(r SnapResult) float64 { return float64(r.Before) })),
		Peak:    int64(medianOf(rs, func(r SnapResult) float64 { return float64(r.Peak) })),
		PeakPSS: int64(medianOf(rs, func(r SnapResult) float64 { return float64(r.PeakPSS) })),
		Procs:   int(medianOf(rs, func(r SnapResult) float64 { return float64(r.Procs) })),
		Time:    time.Duration(medianOf(rs, func(r SnapResult) float64 { return float64(r.Time) })),
		Writes:  medianOf(rs, func(r SnapResult) float64 { return r.Writes }),
		Steady:  medianOf(rs, func(r SnapResult) float64 { return r.Steady }),
	}
	for _, r := range rs {
		if r.PeakPSS < 0 {
			m.PeakPSS = -1
		}
	}
	return m
}

// WriteLoadTable writes the start-up rows as one Markdown table: each
// server's file size and time to the first PONG, and Basalt's time over
// Redis's.
func WriteLoadTable(w io.Writer, rows []LoadRow) error {
	var b strings.Builder
	b.WriteString("| start-up on | keys | Redis files MiB | Redis start s | Basalt files MiB | Basalt start s | Basalt/Redis time |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	cell := func(r *LoadResult) string {
		if r == nil {
			return "error | error"
		}
		return fmt.Sprintf("%s | %.3f", mib(r.FileBytes), r.Time.Seconds())
	}
	var failures []string
	for _, r := range rows {
		ratio := "n/a"
		if x, ok := r.Ratio(); ok {
			ratio = fmt.Sprintf("%.2f", x)
		}
		what := map[string]string{"RDB": "RDB (`dump.rdb`, appendonly no)", "AOF": "AOF (`appendonlydir`, the load's commands)"}[r.Kind]
		if what == "" {
			what = r.Kind
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", what, r.Keys, cell(r.Redis), cell(r.Basalt), ratio)
		failures = appendFailure(failures, "Redis", r.Kind, r.Redis == nil, r.RedisErr)
		failures = appendFailure(failures, "Basalt", r.Kind, r.Basalt == nil, r.BasaltErr)
	}
	writeFailures(&b, failures)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSnapTable writes the snapshot rows as one Markdown table: for each
// server the RSS before (steady, under writes), the peak RSS of the server
// and its children during the operation, peak/before, the peak PSS, the
// operation's time and the SETs/s served meanwhile; then Basalt's peak and
// time over Redis's.
func WriteSnapTable(w io.Writer, rows []SnapRow) error {
	var b strings.Builder
	b.WriteString("| operation | keys | Redis RSS before MiB | Redis peak RSS MiB | Redis peak/before | Redis peak PSS MiB | Redis time s | Redis SETs/s steady | Redis SETs/s during | " +
		"Basalt RSS before MiB | Basalt peak RSS MiB | Basalt peak/before | Basalt peak PSS MiB | Basalt time s | Basalt SETs/s steady | Basalt SETs/s during | Basalt/Redis peak RSS | Basalt/Redis time |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	cell := func(r *SnapResult) string {
		if r == nil {
			return "error | error | error | error | error | error | error"
		}
		pss := "n/a"
		if r.PeakPSS >= 0 {
			pss = mib(r.PeakPSS)
		}
		return fmt.Sprintf("%s | %s | %.2f | %s | %.3f | %.0f | %.0f", mib(r.Before), mib(r.Peak), r.Growth(), pss, r.Time.Seconds(), r.Steady, r.Writes)
	}
	var failures []string
	for _, r := range rows {
		peak, tm := "n/a", "n/a"
		if p, t, ok := r.Ratios(); ok {
			peak, tm = fmt.Sprintf("%.2f", p), fmt.Sprintf("%.2f", t)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", r.Op, r.Keys, cell(r.Redis), cell(r.Basalt), peak, tm)
		failures = appendFailure(failures, "Redis", r.Op, r.Redis == nil, r.RedisErr)
		failures = appendFailure(failures, "Basalt", r.Op, r.Basalt == nil, r.BasaltErr)
	}
	writeFailures(&b, failures)
	_, err := io.WriteString(w, b.String())
	return err
}

func appendFailure(list []string, server, what string, failed bool, reason string) []string {
	if !failed || reason == "" {
		return list
	}
	return append(list, fmt.Sprintf("- %s, %s: %s", server, what, oneLine(reason)))
}

func writeFailures(b *strings.Builder, failures []string) {
	if len(failures) == 0 {
		return
	}
	b.WriteString("\nFailed cells:\n\n")
	b.WriteString(strings.Join(failures, "\n"))
	b.WriteString("\n")
}

// PersistMethod describes how the persistence tables were made, for the
// report header. fsType is the file system of cfg.DataDir ("" if unknown).
func PersistMethod(cfg PersistConfig, fsType string) []string {
	join := func(args []string) string { return strings.Replace(ShellJoin(args), "--port 0", "--port PORT", 1) }
	where := cfg.DataDir
	if fsType != "" {
		where += " (" + fsType + ")"
	}
	lines := []string{
		fmt.Sprintf("dataset: %d keys, %s; loaded over one connection in pipelined batches of %d, DBSIZE checked",
			cfg.Keys, strings.TrimPrefix(PersistDataset(cfg.Keys).Desc, "mixed: "), cfg.Batch),
		fmt.Sprintf("RDB servers: `redis-server %s`, `basalt %s`: load the dataset, SAVE, stop; then a new process on that folder",
			join(persistArgs(cfg, "redis", 0, "DIR", false)), join(persistArgs(cfg, "basalt", 0, "DIR", false))),
		fmt.Sprintf("AOF servers: `redis-server %s`, `basalt %s`: load the dataset (logged), stop; then a new process on that folder",
			join(persistArgs(cfg, "redis", 0, "DIR", true)), join(persistArgs(cfg, "basalt", 0, "DIR", true))),
		fmt.Sprintf("files in fresh folders under %s; start s: from starting the process to the first PONG (PING every 5 ms), DBSIZE checked after", where),
		fmt.Sprintf("snapshots, on the server just started: %d connections send pipelined batches of %d `SET key:<random string key> <10-byte value>` (overwrites, the key count stays); after %v of that, RSS is sampled for %v (before = the largest), then BGSAVE or BGREWRITEAOF is sent and INFO persistence polled every %v until it has finished with status ok (time s)",
			cfg.Writers, cfg.WriteBatch, cfg.Warmup, cfg.Steady, cfg.Interval),
		fmt.Sprintf("peak RSS: the largest sum of VmRSS over the server and its child processes (Redis's fork), sampled every %v from /proc; a page the fork shares with its parent counts twice there, so peak PSS (sum of smaps_rollup Pss, shared pages split) is the physical memory", cfg.Interval),
		fmt.Sprintf("rounds: %d, Redis then Basalt, never both at once; cells are medians", cfg.Rounds),
	}
	if fsType == "tmpfs" || fsType == "ramfs" {
		lines = append(lines, "WARNING: the files are on a "+fsType+": the disk is not measured, and their pages count as shared memory")
	}
	return lines
}
