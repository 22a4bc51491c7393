package script

import (
	"fmt"
	"sync"
	"testing"
)

// Several VMs (one per goroutine, as one per loop) share one Engine.
func TestConcurrentVMs(t *testing.T) {
	e, vm0 := newTestVM(t, Config{})
	if _, errMsg := vm0.FunctionLoad([]byte("#!lua name=lib\nredis.register_function('echo', function(k, a) return a[1] end)"), false, nil); errMsg != "" {
		t.Fatal(errMsg)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			vm := e.NewVM()
			defer vm.Close()
			h := newFakeHost()
			for i := 0; i < 200; i++ {
				body := fmt.Sprintf("return %d", i%20)
				if got := eval(vm, h, 2, body); got != fmt.Sprintf(":%d\r\n", i%20) {
					t.Errorf("g%d eval %q", g, got)
					return
				}
				if got := fcmd(vm, h, 2, "fcall", "echo", "0", "x"); got != "$1\r\nx\r\n" {
					t.Errorf("g%d fcall %q", g, got)
					return
				}
				if i%50 == 0 && g == 0 {
					e.Flush()
				}
			}
		}(g)
	}
	wg.Wait()
}
