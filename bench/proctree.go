package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcFS reads processes from a /proc file system: os.DirFS("/proc") on a
// real machine, a fstest.MapFS in tests. Paths are relative to /proc
// ("123/status"). It holds no state; any goroutine may use it.
type ProcFS struct {
	FS fs.FS
}

// SystemProc is the machine's own /proc.
func SystemProc() ProcFS { return ProcFS{FS: os.DirFS("/proc")} }

// TreeMem is the memory of a process and its descendants at one instant.
type TreeMem struct {
	// RSS is the sum of VmRSS over the tree, in bytes. A page shared by a
	// parent and its forked child counts once per process, so after a fork
	// this overstates the physical memory in use: see PSS.
	RSS int64
	// PSS is the sum of the proportional set sizes (smaps_rollup's Pss) in
	// bytes: a page shared by k processes counts 1/k in each, so the sum is
	// the physical memory the tree holds. -1 when the root process's
	// smaps_rollup could not be read (older kernels, no permission).
	PSS   int64
	Procs int // processes counted, the root included
}

// Descendants returns pid followed by every process descended from it,
// parents before children. It reads /proc/PID/task/*/children where the
// kernel has them (CONFIG_PROC_CHILDREN) and otherwise scans every
// /proc/N/stat for the parent pid. Processes that exit during the walk are
// left out; an error means pid itself cannot be read.
func (p ProcFS) Descendants(pid int) ([]int, error) {
	if _, err := fs.Stat(p.FS, strconv.Itoa(pid)); err != nil {
		return nil, err
	}
	var children func(int) []int
	if files, _ := fs.Glob(p.FS, strconv.Itoa(pid)+"/task/*/children"); len(files) > 0 {
		children = p.childrenFiles
	} else {
		byParent, err := p.parents()
		if err != nil {
			return nil, err
		}
		children = func(pid int) []int { return byParent[pid] }
	}
	out := []int{pid}
	seen := map[int]bool{pid: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children(out[i]) {
			if !seen[c] { // a recycled pid must not loop
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// childrenFiles reads the children of every thread of pid (a child forked
// by any thread is listed under that thread's task).
func (p ProcFS) childrenFiles(pid int) []int {
	files, _ := fs.Glob(p.FS, strconv.Itoa(pid)+"/task/*/children")
	var out []int
	for _, f := range files {
		data, err := fs.ReadFile(p.FS, f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, c)
			}
		}
	}
	sort.Ints(out)
	return out
}

// parents maps every parent pid to its children, from /proc/N/stat.
func (p ProcFS) parents() (map[int][]int, error) {
	entries, err := fs.ReadDir(p.FS, ".")
	if err != nil {
		return nil, err
	}
	byParent := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(p.FS, e.Name()+"/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if ppid, err := ParseStatPPID(data); err == nil {
			byParent[ppid] = append(byParent[ppid], pid)
		}
	}
	return byParent, nil
}

// ParseStatPPID returns the parent pid from a /proc/PID/stat line. The
// command name sits in parentheses and may itself hold spaces and
// parentheses, so the fields are counted from the last ')'.
func ParseStatPPID(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: unexpected stat line %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, fmt.Errorf("bench: unexpected stat line %q", stat)
	}
	ppid, err := strconv.Atoi(f[1]) // f[0] is the state
	if err != nil {
		return 0, fmt.Errorf("bench: unexpected stat line %q", stat)
	}
	return ppid, nil
}

// ParsePss returns the Pss line of a smaps_rollup file in bytes.
func ParsePss(rollup []byte) (int64, error) {
	for _, line := range strings.Split(string(rollup), "\n") {
		rest, ok := strings.CutPrefix(line, "Pss:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			break
		}
		return kb * 1024, nil
	}
	return 0, errors.New("bench: no Pss line in smaps_rollup")
}

// TreeMemory sums the memory of pid and its descendants. Only pid's own
// RSS must be readable; a descendant that exits meanwhile, or a zombie
// without memory, counts zero.
func (p ProcFS) TreeMemory(pid int) (TreeMem, error) {
	pids, err := p.Descendants(pid)
	if err != nil {
		return TreeMem{}, err
	}
	var m TreeMem
	for i, q := range pids {
		dir := strconv.Itoa(q)
		status, err := fs.ReadFile(p.FS, path.Join(dir, "status"))
		var rss int64
		if err == nil {
			rss, err = ParseVmRSS(status)
		}
		if err != nil {
			if i == 0 {
				return TreeMem{}, err
			}
			continue
		}
		m.RSS += rss
		m.Procs++
		if m.PSS < 0 {
			continue
		}
		rollup, err := fs.ReadFile(p.FS, path.Join(dir, "smaps_rollup"))
		var pss int64
		if err == nil {
			pss, err = ParsePss(rollup)
		}
		switch {
		case err == nil:
			m.PSS += pss
		case i == 0:
			m.PSS = -1 // no smaps_rollup on this kernel, or not ours to read
		default:
			// A child that exited between its status and its smaps_rollup
			// (a forked saver finishing) counts zero, as when it is gone.
		}
	}
	return m, nil
}

// TreePeak is what a TreeSampler saw: the largest RSS and PSS sums (each
// its own maximum, not necessarily the same instant) and the most
// processes at once.
type TreePeak struct {
	RSS, PSS int64 // PSS is -1 when it could not be read
	Procs    int
	Samples  int
	Err      error // the first failed reading (the root process gone), if any
}

// TreeSampler reads a process tree's memory every interval on a goroutine
// of its own until Stop. Create it with SampleTree; only the creating
// goroutine may call Stop.
type TreeSampler struct {
	stop chan struct{}
	done chan struct{}
	peak TreePeak // written by the sampling goroutine, read after done
}

// SampleTree starts sampling pid's tree now (a first reading is taken
// before it returns) and then every interval.
func SampleTree(p ProcFS, pid int, interval time.Duration) *TreeSampler {
	s := &TreeSampler{stop: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	first := make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample(p, pid)
			once.Do(func() { close(first) })
			select {
			case <-s.stop:
				s.sample(p, pid) // the state at Stop counts too
				return
			case <-t.C:
			}
		}
	}()
	<-first
	return s
}

func (s *TreeSampler) sample(p ProcFS, pid int) {
	m, err := p.TreeMemory(pid)
	if err != nil {
		if s.peak.Err == nil {
			s.peak.Err = err
		}
		return
	}
	pk := &s.peak
	if pk.Samples == 0 {
		pk.PSS = m.PSS
	}
	pk.Samples++
	pk.RSS = max(pk.RSS, m.RSS)
	pk.Procs = max(pk.Procs, m.Procs)
	if pk.PSS >= 0 {
		if m.PSS < 0 {
			pk.PSS = -1
		} else {
			pk.PSS = max(pk.PSS, m.PSS)
		}
	}
}

// Stop ends the sampling and returns the peaks.
func (s *TreeSampler) Stop() TreePeak {
	close(s.stop)
	<-s.done
	return s.peak
}
