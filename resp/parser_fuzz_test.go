package resp

import (
	"reflect"
	"strconv"
	"testing"
)

// encodeMultibulk writes args as a RESP multibulk request.
func encodeMultibulk(dst []byte, args []string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// FuzzParse checks that Parse never panics, never consumes more than it
// was given, gives the same result whether input arrives at once, one byte
// at a time or at a random split, and that every parsed command survives a
// round trip through the multibulk encoding.
//
//	go test -fuzz=FuzzParse ./resp/
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		if len(tc.in) < 4096 {
			f.Add([]byte(tc.in), uint16(len(tc.in)/2), false)
		}
	}
	for _, tc := range errorCases {
		if len(tc.in) < 4096 {
			f.Add([]byte(tc.in), uint16(1), tc.lim != nil && tc.lim.RequireAuth)
		}
	}
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nSET 'a b' \"\\x41\\n\" c\r\n"), uint16(7), false)
	f.Add([]byte("*11\r\n$1\r\na\r\n"), uint16(3), true)

	f.Fuzz(func(t *testing.T, data []byte, split uint16, requireAuth bool) {
		lim := &Limits{RequireAuth: requireAuth}
		whole := parseWhole(t, data, lim)
		// Feeding in pieces can only differ from one buffer when a line is
		// longer than the too-big limit (Redis depends on read sizes too).
		if len(data) <= InlineMaxSize {
			if bw := bytewise(t, data, lim); !reflect.DeepEqual(bw, whole) {
				t.Fatalf("bytewise differs:\n got %v\nwant %v", bw, whole)
			}
			cut := int(split) % (len(data) + 1)
			if sp := parseChunks(t, data, lim, []int{cut}); !reflect.DeepEqual(sp, whole) {
				t.Fatalf("split at %d differs:\n got %v\nwant %v", cut, sp, whole)
			}
		}
		var p Parser
		var enc []byte
		for _, c := range whole.cmds {
			enc = encodeMultibulk(enc[:0], c)
			args, n, err := p.Parse(enc, nil)
			if err != nil || n != len(enc) || !reflect.DeepEqual(toStrings(args), c) {
				t.Fatalf("round trip of %q: args=%q n=%d/%d err=%v", c, args, n, len(enc), err)
			}
		}
	})
}
