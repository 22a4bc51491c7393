package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// Value is a parsed reply, used only where raw bytes cannot be compared
// directly (unordered replies, fields that differ per instance).
// Raw is the exact encoding of the whole value, header included.
type Value struct {
	Kind  byte    // the RESP type byte: + - : $ * % ~ ...
	Line  []byte  // header line without type byte and CRLF (length or payload)
	Str   []byte  // payload of bulk-like values
	Elems []Value // elements of aggregates (maps: key, value, key, value ...)
	Raw   []byte
}

// ParseValue parses exactly one reply from raw.
func ParseValue(raw []byte) (Value, error) {
	v, n, err := parseValue(raw, 0)
	if err != nil {
		return v, err
	}
	if n != len(raw) {
		return v, fmt.Errorf("%d trailing bytes after reply", len(raw)-n)
	}
	return v, nil
}

func parseValue(raw []byte, depth int) (Value, int, error) {
	if depth > maxReplyDepth {
		return Value{}, 0, fmt.Errorf("reply nested too deeply")
	}
	// Reuse the streaming reader so framing rules live in one place.
	r := bufio.NewReader(bytes.NewReader(raw))
	head, err := readLine(r, nil)
	if err != nil {
		return Value{}, 0, err
	}
	v := Value{Kind: head[0], Line: head[1 : len(head)-2]}
	pos := len(head)
	switch v.Kind {
	case '$', '!', '=':
		n, _ := strconv.Atoi(string(v.Line))
		if n >= 0 {
			if pos+n+2 > len(raw) {
				return v, 0, fmt.Errorf("short bulk")
			}
			v.Str = raw[pos : pos+n]
			pos += n + 2
		}
	case '*', '~', '>', '%', '|':
		n, _ := strconv.Atoi(string(v.Line))
		if v.Kind == '%' || v.Kind == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			e, used, err := parseValue(raw[pos:], depth+1)
			if err != nil {
				return v, 0, err
			}
			v.Elems = append(v.Elems, e)
			pos += used
		}
		if v.Kind == '|' {
			// An attribute annotates the reply that follows: keep that
			// reply as the last element so Raw spans both.
			e, used, err := parseValue(raw[pos:], depth+1)
			if err != nil {
				return v, 0, err
			}
			v.Elems = append(v.Elems, e)
			pos += used
		}
	}
	v.Raw = raw[:pos]
	return v, pos, nil
}

// Canonical re-encodes v with aggregate elements sorted (recursively when
// deep), so that two replies that differ only in element order compare equal.
// Map pairs are sorted as pairs.
func (v Value) Canonical(deep bool) []byte {
	if len(v.Elems) == 0 {
		return v.Raw
	}
	var items [][]byte
	step := 1
	if v.Kind == '%' || v.Kind == '|' {
		step = 2
	}
	for i := 0; i+step <= len(v.Elems); i += step {
		var item []byte
		for j := i; j < i+step; j++ {
			e := v.Elems[j]
			if deep {
				item = append(item, e.Canonical(true)...)
			} else {
				item = append(item, e.Raw...)
			}
		}
		items = append(items, item)
	}
	sort.Slice(items, func(a, b int) bool { return bytes.Compare(items[a], items[b]) < 0 })
	out := append([]byte{v.Kind}, v.Line...)
	out = append(out, '\r', '\n')
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// ZeroFields re-encodes a map-like reply (RESP3 map or RESP2 flat array of
// name/value pairs) with the values of the named fields replaced by the
// integer 0. Used for per-instance fields such as a client id.
func (v Value) ZeroFields(names ...string) []byte {
	if v.Kind != '%' && v.Kind != '*' {
		return v.Raw
	}
	out := append([]byte{v.Kind}, v.Line...)
	out = append(out, '\r', '\n')
	for i := 0; i < len(v.Elems); i++ {
		e := v.Elems[i]
		out = append(out, e.Raw...)
		if i%2 == 1 {
			continue
		}
		for _, n := range names {
			if (e.Kind == '$' || e.Kind == '+') && string(e.Str) == n || e.Kind == '+' && string(e.Line) == n {
				if i+1 < len(v.Elems) {
					out = append(out, ":0\r\n"...)
					i++
				}
				break
			}
		}
	}
	return out
}

// Int returns the value of an integer reply.
func (v Value) Int() (int64, bool) {
	if v.Kind != ':' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v.Line), 10, 64)
	return n, err == nil
}

// encodeWith re-encodes v with its elements replaced by elems (already
// encoded), keeping v's header.
func (v Value) encodeWith(elems [][]byte) []byte {
	out := append([]byte{v.Kind}, v.Line...)
	out = append(out, '\r', '\n')
	for _, e := range elems {
		out = append(out, e...)
	}
	return out
}

// sortedPairs re-encodes a map-like value (RESP3 map or RESP2 flat array)
// with its name/value pairs sorted.
func (v Value) sortedPairs() []byte {
	var pairs [][]byte
	for i := 0; i+1 < len(v.Elems); i += 2 {
		pairs = append(pairs, append(append([]byte(nil), v.Elems[i].Raw...), v.Elems[i+1].Raw...))
	}
	sort.Slice(pairs, func(a, b int) bool { return bytes.Compare(pairs[a], pairs[b]) < 0 })
	return v.encodeWith(pairs)
}

// NormalizeCommandMeta re-encodes a COMMAND INFO or COMMAND DOCS reply with
// the subcommand lists sorted: Redis itself emits them in the order of a
// hash table that is seeded randomly per process.
func (v Value) NormalizeCommandMeta() []byte {
	elems := make([][]byte, len(v.Elems))
	for i, e := range v.Elems {
		elems[i] = e.Raw
		switch {
		case len(e.Elems) >= 10 && e.Kind == '*' && e.Elems[0].Kind == '$':
			// COMMAND INFO entry: element 9 lists the subcommands.
			sub := make([][]byte, len(e.Elems))
			for j, x := range e.Elems {
				sub[j] = x.Raw
			}
			sub[9] = e.Elems[9].Canonical(false)
			elems[i] = e.encodeWith(sub)
		case i%2 == 1 && (e.Kind == '%' || e.Kind == '*'):
			// COMMAND DOCS: name, then a map in which "subcommands" maps
			// names to docs.
			sub := make([][]byte, len(e.Elems))
			for j, x := range e.Elems {
				sub[j] = x.Raw
				if j%2 == 1 && string(e.Elems[j-1].Str) == "subcommands" {
					sub[j] = x.sortedPairs()
				}
			}
			elems[i] = e.encodeWith(sub)
		}
	}
	return v.encodeWith(elems)
}
