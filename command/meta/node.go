package meta

import (
	"errors"
	"strconv"
)

// RESP3 value kinds, named by their type byte on the wire.
const (
	KindSimple byte = '+'
	KindBulk   byte = '$'
	KindInt    byte = ':'
	KindArray  byte = '*'
	KindMap    byte = '%'
	KindSet    byte = '~'
	KindNull   byte = '_' // a null bulk string in RESP2 ($-1), as Redis's addReplyNull
	KindDouble byte = ','
	KindBool   byte = '#'
	KindError  byte = '-' // only produced by ParseNode
)

// Node is a generic RESP value tree, as captured from redis-server.
// Maps keep their entries in Elems as key, value, key, value...
// Nodes built by New are shared and read-only.
type Node struct {
	Kind  byte
	Str   string // simple, bulk, double (its text), error
	Int   int64  // integer; bool: 1 or 0
	Elems []Node // array, set, map
}

// AppendRESP appends n encoded for protocol proto (2 or 3). In RESP2 maps
// become flat arrays, sets arrays, doubles bulk strings, booleans integers
// and nulls null bulk strings, as Redis's networking layer does.
func (n *Node) AppendRESP(dst []byte, proto int) []byte {
	switch n.Kind {
	case KindSimple:
		dst = append(dst, '+')
		dst = append(dst, n.Str...)
		return append(dst, '\r', '\n')
	case KindError:
		dst = append(dst, '-')
		dst = append(dst, n.Str...)
		return append(dst, '\r', '\n')
	case KindBulk:
		return appendBulk(dst, n.Str)
	case KindInt:
		return appendHeader(dst, ':', int64(n.Int))
	case KindArray:
		dst = appendHeader(dst, '*', int64(len(n.Elems)))
	case KindSet:
		if proto >= 3 {
			dst = appendHeader(dst, '~', int64(len(n.Elems)))
		} else {
			dst = appendHeader(dst, '*', int64(len(n.Elems)))
		}
	case KindMap:
		if proto >= 3 {
			dst = appendHeader(dst, '%', int64(len(n.Elems)/2))
		} else {
			dst = appendHeader(dst, '*', int64(len(n.Elems)))
		}
	case KindNull:
		if proto >= 3 {
			return append(dst, "_\r\n"...)
		}
		return append(dst, "$-1\r\n"...)
	case KindDouble:
		if proto >= 3 {
			dst = append(dst, ',')
			dst = append(dst, n.Str...)
			return append(dst, '\r', '\n')
		}
		return appendBulk(dst, n.Str)
	case KindBool:
		if proto >= 3 {
			if n.Int != 0 {
				return append(dst, "#t\r\n"...)
			}
			return append(dst, "#f\r\n"...)
		}
		return appendHeader(dst, ':', n.Int)
	default:
		panic("meta: unknown node kind " + strconv.Quote(string(n.Kind)))
	}
	for i := range n.Elems {
		dst = n.Elems[i].AppendRESP(dst, proto)
	}
	return dst
}

// MapGet returns the value for key in a map node, or nil.
func (n *Node) MapGet(key string) *Node {
	if n.Kind != KindMap {
		return nil
	}
	for i := 0; i+1 < len(n.Elems); i += 2 {
		if n.Elems[i].Str == key {
			return &n.Elems[i+1]
		}
	}
	return nil
}

func appendHeader(dst []byte, c byte, n int64) []byte {
	dst = append(dst, c)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

func appendBulk(dst []byte, s string) []byte {
	dst = appendHeader(dst, '$', int64(len(s)))
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

func appendBulkBytes(dst []byte, s []byte) []byte {
	dst = appendHeader(dst, '$', int64(len(s)))
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// ErrIncomplete is returned by ParseNode when b ends before the value does.
var ErrIncomplete = errors.New("meta: incomplete RESP value")

// ParseNode parses one RESP2 or RESP3 value from b and returns it with the
// number of bytes consumed. RESP2 null bulk strings and null arrays become
// KindNull, verbatim strings and big numbers KindBulk, pushes KindArray;
// error replies come back as KindError values, not as Go errors.
// It allocates; it is meant for tests and tools, not the data path.
func ParseNode(b []byte) (Node, int, error) {
	line, rest, ok := cutLine(b)
	if !ok {
		return Node{}, 0, ErrIncomplete
	}
	if len(line) == 0 {
		return Node{}, 0, errors.New("meta: empty RESP line")
	}
	used := len(b) - len(rest)
	kind, body := line[0], string(line[1:])
	switch kind {
	case '+', '-', ',':
		return Node{Kind: kind, Str: body}, used, nil
	case '(':
		return Node{Kind: KindBulk, Str: body}, used, nil
	case ':':
		i, err := strconv.ParseInt(body, 10, 64)
		return Node{Kind: KindInt, Int: i}, used, err
	case '#':
		n := Node{Kind: KindBool}
		if body == "t" {
			n.Int = 1
		}
		return n, used, nil
	case '_':
		return Node{Kind: KindNull}, used, nil
	case '$', '=':
		l, err := strconv.Atoi(body)
		if err != nil {
			return Node{}, 0, err
		}
		if l < 0 {
			return Node{Kind: KindNull}, used, nil
		}
		if len(rest) < l+2 {
			return Node{}, 0, ErrIncomplete
		}
		return Node{Kind: KindBulk, Str: string(rest[:l])}, used + l + 2, nil
	case '*', '~', '%', '>':
		l, err := strconv.Atoi(body)
		if err != nil {
			return Node{}, 0, err
		}
		if l < 0 {
			return Node{Kind: KindNull}, used, nil
		}
		k := kind
		if k == '>' {
			k = KindArray
		}
		count := l
		if k == KindMap {
			count *= 2
		}
		n := Node{Kind: k, Elems: make([]Node, 0, count)}
		for i := 0; i < count; i++ {
			e, m, err := ParseNode(b[used:])
			if err != nil {
				return Node{}, 0, err
			}
			used += m
			n.Elems = append(n.Elems, e)
		}
		return n, used, nil
	}
	return Node{}, 0, errors.New("meta: unknown RESP type " + strconv.Quote(string(kind)))
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], b[i+2:], true
		}
	}
	return nil, b, false
}
