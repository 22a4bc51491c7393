package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// Differential tests of requirepass: which commands need AUTH, the AUTH
// and HELLO forms, the protocol limits on unauthenticated clients, RESET
// and changing the password at run time.

// hasTransactions says whether the target has MULTI/EXEC, which scenarios
// touch only when it has.
func hasTransactions() bool { return suite.target == "redis" || hasFeature("transactions") }

// multibulk encodes args as one request, for raw writes.
func multibulk(args ...string) []byte { return AppendCommand(nil, bs(args...)) }

// mgetN is MGET with n-1 keys: a request of n arguments.
func mgetN(n int) []string {
	args := []string{"MGET"}
	for i := 1; i < n; i++ {
		args = append(args, "k"+strconv.Itoa(i))
	}
	return args
}

func TestAuthRequirepass(t *testing.T) {
	t.Parallel()
	p := startPairArgs(t, "--requirepass", "secret")
	t.Run("noauth", func(t *testing.T) {
		runScenario(t, p, func(s *side) {
			a := s.dial("a")
			for _, cmd := range [][]string{
				{"PING"}, {"GET", "k"}, {"SET", "k", "v"}, {"ECHO", "x"}, {"SELECT", "1"},
				{"CLIENT", "ID"}, {"CLIENT", "SETNAME", "x"}, {"DBSIZE"}, {"FLUSHALL"},
				{"CONFIG", "GET", "requirepass"}, {"COMMAND", "COUNT"},
				// lookup and arity are checked before authentication
				{"NOSUCHCMD", "a"}, {"GET"}, {"SET", "k"}, {"CLIENT", "NOSUCH"},
				{"get", "k"},
			} {
				a.do(cmd...)
			}
			if hasTransactions() {
				a.do("MULTI")
				a.do("EXEC") // EXECABORT: a rejected EXEC aborts, MULTI or not
				a.do("DISCARD")
			}
			a.pipe([]string{"PING"}, []string{"GET", "k"}, []string{"INCR", "n"})
			a.raw("inline PING", []byte("PING\r\n"), rawIdle)
			a.do("QUIT")
			a.expectClose()
		})
	})
	t.Run("auth", func(t *testing.T) {
		runScenario(t, p, func(s *side) {
			a := s.dial("a")
			a.do("AUTH")
			a.do("AUTH", "wrong")
			a.do("AUTH", "default", "wrong")
			a.do("AUTH", "nouser", "secret")
			a.do("AUTH", "a", "b", "c")
			a.do("AUTH", "")
			a.do("AUTH", "SECRET")
			a.do("GET", "k")
			a.do("AUTH", "secret")
			a.do("SET", "k", "v")
			a.do("GET", "k")
			// A failed AUTH does not undo an earlier success.
			a.do("AUTH", "wrong")
			a.do("GET", "k")
			a.do("AUTH", "default", "secret")
			a.do("GET", "k")
			a.do("AUTH", "DEFAULT", "secret")

			b := s.dial("b")
			b.do("AUTH", "default", "secret")
			b.do("GET", "k")
			b.do("SELECT", "2")
			b.do("SET", "k", "v2")
			// RESET drops the authentication and the db.
			b.do("RESET")
			b.do("GET", "k")
			b.do("AUTH", "secret")
			b.do("GET", "k")
			b.do("AUTH", "secret") // AUTH again while authenticated
			b.do("RESET")
			b.raw("11-argument request after RESET", multibulk(mgetN(11)...), rawIdle)

			// AUTH and a command in one pipeline: the command runs authenticated.
			c := s.dial("c")
			c.pipe([]string{"GET", "k"}, []string{"AUTH", "secret"}, []string{"GET", "k"}, []string{"AUTH", "bad"}, []string{"GET", "k"})
		})
	})
	t.Run("hello", func(t *testing.T) {
		runScenario(t, p, func(s *side) {
			a := s.dial("a")
			a.do("HELLO")
			a.do("HELLO", "2")
			a.do("HELLO", "3")
			a.do("HELLO", "4")
			a.do("HELLO", "3", "SETNAME", "n1")
			a.do("HELLO", "3", "SETNAME", "bad name")
			a.do("HELLO", "3", "AUTH", "default")
			a.do("HELLO", "3", "AUTH", "default", "wrong")
			a.do("HELLO", "3", "AUTH", "nouser", "secret")
			a.do("HELLO", "3", "FOO")
			a.do("HELLO", "2", "AUTH", "default", "wrong", "SETNAME", "n2")
			a.do("CLIENT", "GETNAME")
			a.do("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "myname")
			a.do("CLIENT", "GETNAME")
			a.do("GET", "k")
			a.do("HELLO")
			a.do("HELLO", "2", "SETNAME", "other")
			a.do("CLIENT", "GETNAME")
			a.do("RESET")
			a.do("CLIENT", "GETNAME")
			a.do("GET", "k")
			a.do("HELLO", "2", "AUTH", "default", "secret")
			a.do("GET", "k")

			b := s.dial("b")
			b.do("HELLO", "2", "AUTH", "default", "secret")
			b.do("HELLO", "3", "SETNAME", "x")
			b.do("CLIENT", "GETNAME")
			b.do("HELLO", "2", "AUTH", "default", "wrong")
			b.do("GET", "k") // still authenticated
		})
	})
	t.Run("unauthenticated-limits", func(t *testing.T) {
		big := func(n int) []byte {
			return []byte("*2\r\n$4\r\nECHO\r\n$" + strconv.Itoa(n) + "\r\n" + strings.Repeat("x", n) + "\r\n")
		}
		runScenario(t, p, func(s *side) {
			a := s.dial("a")
			a.raw("10-argument request", multibulk(mgetN(10)...), rawIdle)
			a.raw("bulk of 16384", big(16384), rawIdle)
			a.raw("11-argument request", multibulk(mgetN(11)...), rawIdle)

			b := s.dial("b")
			b.raw("header *11 alone", []byte("*11\r\n"), rawIdle)

			c := s.dial("c")
			c.raw("bulk of 16385", big(16385), rawIdle)

			d := s.dial("d")
			d.raw("bulk header $16385 alone", []byte("*2\r\n$4\r\nECHO\r\n$16385\r\n"), rawIdle)

			// Inline requests are not bound by the multibulk limits.
			e := s.dial("e")
			e.raw("inline with 12 arguments", []byte("MGET a b c d e f g h i j k\r\n"), rawIdle)

			// Authenticated in the same write: the limits no longer apply.
			f := s.dial("f")
			f.raw("AUTH then 11 arguments then bulk of 20000",
				append(append(multibulk("AUTH", "secret"), multibulk(mgetN(11)...)...), big(20000)...), rawIdle)

			// A failed AUTH in the same write: they still apply.
			g := s.dial("g")
			g.raw("bad AUTH then 11 arguments",
				append(multibulk("AUTH", "nope"), multibulk(mgetN(11)...)...), rawIdle)

			h := s.dial("h")
			h.raw("bad AUTH then bulk of 16385",
				append(append(multibulk("AUTH", "nope"), big(16385)...), multibulk("PING")...), rawIdle)
		})
	})
}

// TestAuthConfigSet changes requirepass at run time: connections that were
// authenticated stay so; new ones need AUTH; removing the password lets
// unauthenticated connections in.
func TestAuthConfigSet(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	runScenario(t, p, func(s *side) {
		a := s.dial("a")
		a.do("AUTH", "pw")
		a.do("AUTH", "default", "anything") // the default user has nopass
		a.do("AUTH", "nouser", "anything")
		a.do("HELLO", "2", "AUTH", "default", "anything")
		a.do("CONFIG", "GET", "requirepass")
		a.do("CONFIG", "SET", "requirepass", "newpw")
		a.do("CONFIG", "GET", "requirepass")
		a.do("SET", "k", "v") // a stays authenticated

		b := s.dial("b")
		b.do("GET", "k")
		b.do("AUTH", "pw")
		b.do("AUTH", "newpw")
		b.do("GET", "k")

		c := s.dial("c")
		c.do("GET", "k")
		c.raw("11-argument request", multibulk(mgetN(11)...), rawIdle)

		d := s.dial("d")
		d.do("GET", "k")
		a.do("CONFIG", "SET", "requirepass", "other")
		b.do("GET", "k") // still authenticated under the old password
		b.do("AUTH", "newpw")
		b.do("AUTH", "other")
		// Removing the password admits d without AUTH.
		a.do("CONFIG", "SET", "requirepass", "")
		d.do("GET", "k")
		d.do("AUTH", "x")
		d.do("RESET")
		d.do("GET", "k")
		d.raw("11-argument request with no password", multibulk(mgetN(11)...), rawIdle)

		// Password back on: d, admitted while there was none, stays in.
		a.do("CONFIG", "SET", "requirepass", "third")
		d.do("GET", "k")
		e := s.dial("e")
		e.do("GET", "k")
		e.do("HELLO", "3", "AUTH", "default", "third")
		e.do("GET", "k")
	})
}
