package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestScriptBusyLentLoops: a runaway keyless script holds every loop
// (parked for the executor); once it is past busy-reply-threshold every
// connection, old or new, on any loop, gets BUSY instead of hanging;
// SCRIPT KILL works from any of them; then traffic resumes, including
// commands that waited behind the script, and the data is intact.
func TestScriptBusyLentLoops(t *testing.T) {
	requireBasalt(t)
	for _, loops := range []string{"1", "2", "3"} {
		t.Run("loops"+loops, func(t *testing.T) {
			s := startServer(t, "basalt", "basalt", "--loops", loops, "--busy-reply-threshold", "100")
			const busyEval = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
			dial := func() *Client {
				c, err := Dial(s.addr, 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			// Clients opened before the script, spread over the loops.
			var old []*Client
			for i := 0; i < 6; i++ {
				c := dial()
				keys := []string{"k" + string(rune('a'+i)), "v" + string(rune('a'+i))}
				if raw, err := c.DoStrings("SET", keys[0], keys[1]); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("SET: %q %v", raw, err)
				}
				old = append(old, c)
			}
			runner := dial()
			if err := runner.Send(bs("EVAL", "local i = 0 while true do i = i + 1 end", "0")); err != nil {
				t.Fatal(err)
			}
			// Every old connection answers BUSY once the script is busy.
			deadline := time.Now().Add(10 * time.Second)
			for _, c := range old {
				for {
					raw, err := c.DoStrings("GET", "ka")
					if err == nil && string(raw) == busyEval {
						break
					}
					if err != nil || time.Now().After(deadline) {
						t.Fatalf("old connection while busy: %q %v", raw, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			// New connections too, and the allowed commands answer.
			var fresh []*Client
			for i := 0; i < 6; i++ {
				c := dial()
				if raw, err := c.DoStrings("PING"); err != nil || string(raw) != busyEval {
					t.Fatalf("new connection while busy: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("FUNCTION", "KILL"); err != nil || string(raw) != busyEval {
					t.Fatalf("FUNCTION KILL of a script: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("MULTI"); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("MULTI while busy: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("DISCARD"); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("DISCARD while busy: %q %v", raw, err)
				}
				fresh = append(fresh, c)
			}
			// A pipeline whose first command is answered BUSY and whose
			// WATCH waits for the loop's return (it reads the shard).
			waiter := fresh[len(fresh)-1]
			if err := waiter.Send(bs("WATCH", "ka")); err != nil {
				t.Fatal(err)
			}
			killer := fresh[len(fresh)/2]
			if raw, err := killer.DoStrings("SCRIPT", "KILL"); err != nil || string(raw) != "+OK\r\n" {
				t.Fatalf("SCRIPT KILL: %q %v", raw, err)
			}
			raw, err := runner.ReadReply()
			if err != nil || !strings.HasPrefix(string(raw), "-ERR Script killed by user with SCRIPT KILL... script: ") {
				t.Fatalf("killed EVAL replied %q %v", raw, err)
			}
			if raw, err := waiter.ReadReply(); err != nil || string(raw) != "+OK\r\n" {
				t.Fatalf("WATCH after the script: %q %v", raw, err)
			}
			for i, c := range append(old, fresh...) {
				if raw, err := c.DoStrings("GET", "k"+string(rune('a'+i%6))); err != nil || string(raw) != "$2\r\nv"+string(rune('a'+i%6))+"\r\n" {
					t.Fatalf("GET after the script: %q %v", raw, err)
				}
			}
			if raw, err := runner.DoStrings("EVAL", "return redis.call('MSET', 'x', '1', 'y', '2')", "0"); err != nil || string(raw) != "+OK\r\n" {
				t.Fatalf("EVAL after: %q %v", raw, err)
			}
			if raw, err := runner.DoStrings("SCRIPT", "KILL"); err != nil || string(raw) != "-NOTBUSY No scripts in execution right now.\r\n" {
				t.Fatalf("SCRIPT KILL after: %q %v", raw, err)
			}
			// Twice: the loops lend again for the next busy script.
			if err := runner.Send(bs("EVAL", "while true do end", "0")); err != nil {
				t.Fatal(err)
			}
			c := dial()
			for {
				raw, err := c.DoStrings("SCRIPT", "KILL")
				if err == nil && string(raw) == "+OK\r\n" {
					break
				}
				if err != nil || time.Now().After(deadline.Add(10*time.Second)) {
					t.Fatalf("second SCRIPT KILL: %q %v", raw, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if raw, err := runner.ReadReply(); err != nil || !strings.HasPrefix(string(raw), "-ERR Script killed") {
				t.Fatalf("second killed EVAL: %q %v", raw, err)
			}
			if raw, err := c.DoStrings("DBSIZE"); err != nil || string(raw) != ":8\r\n" {
				t.Fatalf("DBSIZE: %q %v", raw, err)
			}
		})
	}
}
