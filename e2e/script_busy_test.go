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

// TestScriptBusyInlineKeyed: a runaway script declaring one key runs on
// the loop owning the key (inline, on that loop's runner); past
// busy-reply-threshold every connection, old or new, on any loop, gets
// BUSY, SCRIPT KILL works from any of them, the command the script's
// client pipelined behind it runs after, and the data is intact.
func TestScriptBusyInlineKeyed(t *testing.T) {
	requireBasalt(t)
	for _, loops := range []string{"1", "2"} {
		t.Run("loops"+loops, func(t *testing.T) {
			s := startServer(t, "basalt", "basalt", "--loops", loops, "--busy-reply-threshold", "100")
			const busyEval = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
			dial := func() *Client {
				c, err := Dial(s.addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			var old []*Client
			for i := 0; i < 6; i++ {
				c := dial()
				k, v := "k"+string(rune('a'+i)), "v"+string(rune('a'+i))
				if raw, err := c.DoStrings("SET", k, v); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("SET: %q %v", raw, err)
				}
				old = append(old, c)
			}
			runner := dial()
			// The script reads its key, then spins; the client pipelines a
			// GET behind it.
			if err := runner.Send(bs("EVAL", "redis.call('GET', KEYS[1]) while true do end", "1", "ka")); err != nil {
				t.Fatal(err)
			}
			if err := runner.Send(bs("GET", "kb")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for i, c := range old {
				for {
					raw, err := c.DoStrings("GET", "k"+string(rune('a'+i)))
					if err == nil && string(raw) == busyEval {
						break
					}
					if err != nil || time.Now().After(deadline) {
						t.Fatalf("old connection %d while busy: %q %v", i, raw, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			var fresh []*Client
			for i := 0; i < 6; i++ {
				c := dial()
				if raw, err := c.DoStrings("GET", "ka"); err != nil || string(raw) != busyEval {
					t.Fatalf("new connection while busy: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("EVAL", "return 1", "1", "kc"); err != nil || string(raw) != busyEval {
					t.Fatalf("EVAL while busy: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("MULTI"); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("MULTI while busy: %q %v", raw, err)
				}
				if raw, err := c.DoStrings("DISCARD"); err != nil || string(raw) != "+OK\r\n" {
					t.Fatalf("DISCARD while busy: %q %v", raw, err)
				}
				fresh = append(fresh, c)
			}
			killer := fresh[len(fresh)/2]
			if raw, err := killer.DoStrings("SCRIPT", "KILL"); err != nil || string(raw) != "+OK\r\n" {
				t.Fatalf("SCRIPT KILL: %q %v", raw, err)
			}
			raw, err := runner.ReadReply()
			if err != nil || !strings.HasPrefix(string(raw), "-ERR Script killed by user with SCRIPT KILL... script: ") {
				t.Fatalf("killed EVAL replied %q %v", raw, err)
			}
			if raw, err := runner.ReadReply(); err != nil || string(raw) != "$2\r\nvb\r\n" {
				t.Fatalf("GET pipelined after the script: %q %v", raw, err)
			}
			for i, c := range append(old, fresh...) {
				if raw, err := c.DoStrings("GET", "k"+string(rune('a'+i%6))); err != nil || string(raw) != "$2\r\nv"+string(rune('a'+i%6))+"\r\n" {
					t.Fatalf("GET after the script: %q %v", raw, err)
				}
			}
			// A busy script that wrote cannot be killed; it ends on its own
			// and its writes are there.
			if err := runner.Send(bs("EVAL", "redis.call('INCR', KEYS[1]) local t = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 400000 then break end end return redis.call('INCR', KEYS[1])", "1", "counter")); err != nil {
				t.Fatal(err)
			}
			c := dial()
			for {
				raw, err := c.DoStrings("SCRIPT", "KILL")
				if err == nil && string(raw) == "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n" {
					break
				}
				if err != nil || time.Now().After(deadline.Add(10*time.Second)) {
					t.Fatalf("SCRIPT KILL of a writing script: %q %v", raw, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if raw, err := runner.ReadReply(); err != nil || string(raw) != ":2\r\n" {
				t.Fatalf("writing script: %q %v", raw, err)
			}
			if raw, err := c.DoStrings("GET", "counter"); err != nil || string(raw) != "$1\r\n2\r\n" {
				t.Fatalf("GET counter: %q %v", raw, err)
			}
			if raw, err := c.DoStrings("DBSIZE"); err != nil || string(raw) != ":7\r\n" {
				t.Fatalf("DBSIZE: %q %v", raw, err)
			}
		})
	}
}
