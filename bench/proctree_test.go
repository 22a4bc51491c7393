package bench

import (
	"io/fs"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// fakeProc builds a /proc file system. procs maps a pid to its parent,
// VmRSS and Pss in kB (pss < 0: no smaps_rollup; rss < 0: a zombie without
// a VmRSS line). With childrenFiles the tasks' children files are written
// (the root's children spread over two threads), else only stat.
type fakeProcess struct {
	ppid     int
	rss, pss int64
}

func fakeProc(procs map[int]fakeProcess, childrenFiles bool) fstest.MapFS {
	m := fstest.MapFS{}
	kids := map[int][]int{}
	for pid, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], pid)
	}
	itoa := strconv.Itoa
	for pid, p := range procs {
		dir := itoa(pid)
		m[dir+"/stat"] = &fstest.MapFile{Data: []byte(dir + " (redis-server (x) y) S " + itoa(p.ppid) + " 1 1 0 -1\n")}
		status := "Name:\tx\nVmPeak:\t 999 kB\n"
		if p.rss >= 0 {
			status += "VmRSS:\t " + itoa(int(p.rss)) + " kB\n"
		}
		m[dir+"/status"] = &fstest.MapFile{Data: []byte(status + "Threads:\t1\n")}
		if p.pss >= 0 {
			m[dir+"/smaps_rollup"] = &fstest.MapFile{Data: []byte("00-ff ---p 0 00:00 0 [rollup]\nRss:  1 kB\nPss:   " + itoa(int(p.pss)) + " kB\nPss_Anon: 1 kB\n")}
		}
		if childrenFiles {
			// Thread pid lists its children except the first, which a
			// second thread forked.
			var own, other string
			sort.Ints(kids[pid])
			for i, c := range kids[pid] {
				if i == 0 {
					other = itoa(c) + " "
				} else {
					own += itoa(c) + " "
				}
			}
			m[dir+"/task/"+dir+"/children"] = &fstest.MapFile{Data: []byte(own)}
			m[dir+"/task/"+itoa(pid+100000)+"/children"] = &fstest.MapFile{Data: []byte(other)}
		}
	}
	return m
}

// The tree: 100 (a server) forked 200 and 300; 200 forked 201. 1 and 500
// are unrelated.
var fakeTree = map[int]fakeProcess{
	1:   {ppid: 0, rss: 5000, pss: 4000},
	100: {ppid: 1, rss: 1000, pss: 800},
	200: {ppid: 100, rss: 600, pss: 300},
	201: {ppid: 200, rss: 10, pss: 10},
	300: {ppid: 100, rss: 400, pss: 200},
	500: {ppid: 1, rss: 7000, pss: 7000},
}

func TestDescendantsAndTreeMemory(t *testing.T) {
	for _, children := range []bool{true, false} {
		p := ProcFS{FS: fakeProc(fakeTree, children)}
		got, err := p.Descendants(100)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{100, 200, 300, 201}; !reflect.DeepEqual(got, want) {
			t.Errorf("children files %v: descendants %v, want %v", children, got, want)
		}
		m, err := p.TreeMemory(100)
		if err != nil {
			t.Fatal(err)
		}
		if want := (TreeMem{RSS: 2010 << 10, PSS: 1310 << 10, Procs: 4}); m != want {
			t.Errorf("children files %v: %+v, want %+v", children, m, want)
		}
		if m, err := p.TreeMemory(201); err != nil || m.Procs != 1 || m.RSS != 10<<10 {
			t.Errorf("leaf: %+v %v", m, err)
		}
	}
	if _, err := (ProcFS{FS: fakeProc(fakeTree, false)}).TreeMemory(999); err == nil {
		t.Error("a missing root read as a tree")
	}
}

func TestTreeMemoryEdges(t *testing.T) {
	tree := map[int]fakeProcess{
		100: {ppid: 1, rss: 1000, pss: 500},
		200: {ppid: 100, rss: -1, pss: -1}, // a zombie: no memory
		300: {ppid: 100, rss: 400, pss: -1},
	}
	m, err := ProcFS{FS: fakeProc(tree, false)}.TreeMemory(100)
	if err != nil {
		t.Fatal(err)
	}
	// The zombie counts nothing; 300 read its status and then exited (no
	// smaps_rollup): its RSS counts, its PSS is taken as gone.
	if want := (TreeMem{RSS: 1400 << 10, PSS: 500 << 10, Procs: 2}); m != want {
		t.Errorf("%+v, want %+v", m, want)
	}
	// No smaps_rollup for the root: PSS unknown, RSS still summed.
	tree[100] = fakeProcess{ppid: 1, rss: 1000, pss: -1}
	tree[300] = fakeProcess{ppid: 100, rss: 400, pss: 100}
	if m, err := (ProcFS{FS: fakeProc(tree, true)}).TreeMemory(100); err != nil || m.PSS != -1 || m.RSS != 1400<<10 {
		t.Errorf("no root PSS: %+v %v", m, err)
	}
	// A root without VmRSS (a zombie server) is an error, not zero.
	tree[100] = fakeProcess{ppid: 1, rss: -1, pss: -1}
	if _, err := (ProcFS{FS: fakeProc(tree, false)}).TreeMemory(100); err == nil {
		t.Error("a root without VmRSS")
	}
}

func TestDescendantsPidCycle(t *testing.T) {
	// A recycled pid can make stat's parent links loop; the walk must end.
	m := fakeProc(map[int]fakeProcess{10: {ppid: 20, rss: 1}, 20: {ppid: 10, rss: 1}}, false)
	got, err := ProcFS{FS: m}.Descendants(10)
	if err != nil || !reflect.DeepEqual(got, []int{10, 20}) {
		t.Errorf("%v %v", got, err)
	}
}

func TestParseStatPPID(t *testing.T) {
	for in, want := range map[string]int{
		"42 (redis-server) S 7 42 42 0 -1":  7,
		"42 (a) b) c (d) R 12345 1 1":       12345,
		"1 (systemd) S 0 1 1 0 -1 4194560 ": 0,
	} {
		if got, err := ParseStatPPID([]byte(in)); err != nil || got != want {
			t.Errorf("ParseStatPPID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "42 redis S 7", "42 (x) S", "42 (x) S y"} {
		if _, err := ParseStatPPID([]byte(bad)); err == nil {
			t.Errorf("ParseStatPPID(%q) accepted", bad)
		}
	}
}

func TestParsePss(t *testing.T) {
	if got, err := ParsePss([]byte("x [rollup]\nRss: 9 kB\nPss:   1234 kB\nPss_Dirty: 3 kB\n")); err != nil || got != 1234<<10 {
		t.Errorf("ParsePss = %d, %v", got, err)
	}
	for _, bad := range []string{"Rss: 9 kB\n", "Pss: 12 MB\n", "Pss: x kB\n", "Pss_Anon: 5 kB\n"} {
		if _, err := ParsePss([]byte(bad)); err == nil {
			t.Errorf("ParsePss(%q) accepted", bad)
		}
	}
}

// swapFS is a file system whose contents a test replaces while a
// TreeSampler reads it.
type swapFS struct {
	mu sync.Mutex
	m  fstest.MapFS
}

func (s *swapFS) Open(name string) (fs.File, error) {
	s.mu.Lock()
	m := s.m
	s.mu.Unlock()
	return m.Open(name)
}

func (s *swapFS) set(m fstest.MapFS) {
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

func TestTreeSampler(t *testing.T) {
	alone := map[int]fakeProcess{100: {ppid: 1, rss: 1000, pss: 1000}}
	forked := map[int]fakeProcess{100: {ppid: 1, rss: 1200, pss: 700}, 101: {ppid: 100, rss: 900, pss: 400}}
	sfs := &swapFS{m: fakeProc(alone, false)}
	s := SampleTree(ProcFS{FS: sfs}, 100, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	sfs.set(fakeProc(forked, false))
	time.Sleep(20 * time.Millisecond)
	sfs.set(fakeProc(alone, false))
	time.Sleep(20 * time.Millisecond)
	pk := s.Stop()
	if pk.Err != nil || pk.RSS != 2100<<10 || pk.PSS != 1100<<10 || pk.Procs != 2 || pk.Samples < 3 {
		t.Errorf("peak %+v", pk)
	}

	// The first reading is taken before SampleTree returns, and the last
	// at Stop, so even a window shorter than the interval has two.
	s = SampleTree(ProcFS{FS: fakeProc(alone, false)}, 100, time.Hour)
	if pk := s.Stop(); pk.Samples != 2 || pk.RSS != 1000<<10 {
		t.Errorf("short window %+v", pk)
	}
	// A root that is gone is reported, not read as zero.
	s = SampleTree(ProcFS{FS: fakeProc(alone, false)}, 7, time.Millisecond)
	if pk := s.Stop(); pk.Err == nil || pk.Samples != 0 {
		t.Errorf("missing root %+v", pk)
	}
}

func TestSystemProcSelf(t *testing.T) {
	m, err := SystemProc().TreeMemory(selfPID())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if m.Procs < 1 || m.RSS < 1<<20 || m.PSS == 0 {
		t.Errorf("own tree %+v", m)
	}
}
