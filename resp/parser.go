package resp

import (
	"bytes"
	"math"

	"github.com/basaltdb/basalt/internal/numparse"
)

// Request parsing limits and defaults, as in Redis 7.0 (server.h).
const (
	// InlineMaxSize is PROTO_INLINE_MAX_SIZE: the most bytes Redis buffers
	// while looking for the end of an inline request or of a *N / $N line.
	InlineMaxSize = 64 * 1024
	// DefaultMaxBulkLen is the default proto-max-bulk-len (512 MiB).
	DefaultMaxBulkLen = 512 * 1024 * 1024
	// DefaultMaxMultibulk is the largest multibulk count Redis accepts (INT_MAX).
	DefaultMaxMultibulk = math.MaxInt32
	// UnauthMaxMultibulk and UnauthMaxBulkLen are the limits Redis applies
	// to a connection that still has to authenticate.
	UnauthMaxMultibulk = 10
	UnauthMaxBulkLen   = 16384
)

// Limits bounds what Parse accepts. The zero value of a numeric field means
// "use the Redis default". A nil *Limits means all defaults and no auth.
type Limits struct {
	MaxBulkLen   int64 // proto-max-bulk-len; 0 means DefaultMaxBulkLen
	MaxMultibulk int64 // largest *N accepted; 0 means DefaultMaxMultibulk (INT_MAX, as Redis)
	RequireAuth  bool  // client not authenticated yet: *N <= 10 and $N <= 16384, as Redis
}

// ProtocolError is a request the connection cannot recover from. Error()
// is the text after "ERR ": the server replies "-ERR " + Error() + "\r\n"
// and closes the connection, as Redis does.
type ProtocolError struct{ msg string }

func (e *ProtocolError) Error() string { return e.msg }

// The fixed protocol errors, returned as is (no allocation); callers may
// compare with ==. Never reassigned.
var (
	ErrTooBigMbulkCount error = &ProtocolError{"Protocol error: too big mbulk count string"}
	ErrInvalidMbulkLen  error = &ProtocolError{"Protocol error: invalid multibulk length"}
	ErrUnauthMbulkLen   error = &ProtocolError{"Protocol error: unauthenticated multibulk length"}
	ErrTooBigBulkCount  error = &ProtocolError{"Protocol error: too big bulk count string"}
	ErrInvalidBulkLen   error = &ProtocolError{"Protocol error: invalid bulk length"}
	ErrUnauthBulkLen    error = &ProtocolError{"Protocol error: unauthenticated bulk length"}
	ErrTooBigInline     error = &ProtocolError{"Protocol error: too big inline request"}
	ErrUnbalancedQuotes error = &ProtocolError{"Protocol error: unbalanced quotes in request"}
)

const errExpectedDollar = "Protocol error: expected '$', got '"

// expectedDollar builds "expected '$', got 'X'". Redis maps \r and \n in
// error replies to spaces so the reply stays on one line; we do the same
// here so Error() is exactly the text Redis sends.
func expectedDollar(c byte) error {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	b := make([]byte, 0, len(errExpectedDollar)+2)
	b = append(b, errExpectedDollar...)
	b = append(b, c, '\'')
	return &ProtocolError{string(b)}
}

// Parser states.
const (
	stStart   uint8 = iota // at the first byte of a request
	stInline               // looking for the '\n' that ends an inline request
	stCount                // looking for the '\r' that ends "*N"
	stBulkLen              // looking for the '\r' that ends "$N"
	stBulk                 // waiting for bulkLen+2 bytes of a bulk
)

// span locates one argument: buf[off:end], or scratch[off:end] when
// scratch is set (inline arguments rewritten by quotes or escapes).
type span struct {
	off, end int
	scratch  bool
}

// Parser is a resumable, zero-copy parser of client requests: RESP
// multibulk (*N\r\n$len\r\n...\r\n) and inline commands, with Redis 7.0's
// exact acceptance rules and error texts (networking.c
// processMultibulkBuffer / processInlineBuffer).
//
// It keeps only offsets into the caller's buffer between calls, so the
// caller may grow or move the buffer as long as the unconsumed bytes stay
// in the same order at its start. A Parser belongs to one connection and
// is used by one goroutine at a time (the connection's event loop). The
// zero value is ready to use.
type Parser struct {
	state   uint8
	nul     bool // a NUL precedes the line end: Redis's strchr never finds it
	ls      int  // start of the line being searched (stInline, stCount, stBulkLen)
	scan    int  // resume point of the search for the line end
	pos     int  // next unparsed byte of a multibulk request
	remain  int  // bulks still to read
	bulkLen int  // length of the bulk being read (stBulk)

	spans   []span
	args    [][]byte // returned to the caller; reused
	scratch []byte   // decoded inline arguments; reused
}

// Reset drops any partial request, e.g. when the caller discards its buffer.
func (p *Parser) Reset() {
	p.state = stStart
	p.nul = false
	p.ls, p.scan, p.pos, p.remain, p.bulkLen = 0, 0, 0, 0, 0
	p.spans = p.spans[:0]
}

// Partial reports whether the parser holds a partly read request: the
// next Parse must then get a buffer that starts where the last one did and
// is at least as long.
func (p *Parser) Partial() bool { return p.state != stStart }

// Need is the total buffer length (counted from the first unconsumed byte)
// that the request being read needs before Parse can make progress on a
// bulk, or 0 when unknown. It lets the caller size its read buffer once for
// a big value instead of growing it repeatedly.
func (p *Parser) Need() int {
	if p.state == stBulk {
		return p.pos + p.bulkLen + 2
	}
	return 0
}

// Buffered is what Redis would still hold in its query buffer of the
// buflen bytes that Parse last saw incomplete: the bytes after the last
// complete argument of a multibulk request (Redis moves parsed arguments
// out of the buffer), or the whole partial request otherwise. The server
// checks client-query-buffer-limit against it.
func (p *Parser) Buffered(buflen int) int {
	switch p.state {
	case stStart, stInline:
		return buflen
	}
	return max(buflen-p.pos, 0)
}

// Parse parses at most one command from buf, which holds all unconsumed
// input: the same unconsumed prefix as on the previous call plus any new
// bytes.
//
// It returns the command's arguments, n (the bytes consumed) and err.
//   - A complete command: args non-empty, n > 0. Each arg is a sub-slice of
//     buf (capacity clipped), valid while the caller keeps those bytes;
//     except that inline arguments written with quotes or escapes are
//     decoded into a parser-owned scratch buffer and stay valid only until
//     the next call to Parse or Reset. The args slice itself is reused by
//     the next call.
//   - A request with no arguments (empty inline line, *0, *-1): (nil, n>0,
//     nil); the caller discards n bytes and calls again.
//   - Incomplete input: (nil, 0, nil). Progress is remembered as offsets,
//     so the next call does not rescan what was already validated.
//   - A protocol error: err is a *ProtocolError; the connection must reply
//     "-ERR " + err.Error() + "\r\n" and close. The Parser must be Reset
//     before any further use.
//
// lim may be nil (defaults, no auth required).
func (p *Parser) Parse(buf []byte, lim *Limits) (args [][]byte, n int, err error) {
	if p.state == stStart {
		if len(buf) == 0 {
			return nil, 0, nil
		}
		// Free buffers that one huge request grew, so that a connection
		// does not pin them for its lifetime (Redis frees argv per command).
		if cap(p.spans) > 4096 {
			p.spans, p.args = nil, nil
		}
		if cap(p.scratch) > InlineMaxSize {
			p.scratch = nil
		}
		p.spans = p.spans[:0]
		p.ls, p.scan, p.nul = 0, 0, false
		if buf[0] == '*' {
			p.state = stCount
		} else {
			p.state = stInline
		}
	}
	if p.state == stInline {
		return p.parseInline(buf)
	}
	return p.parseMultibulk(buf, lim)
}

// findLineEnd emulates Redis's strchr(querybuf+pos, c): the first c at or
// after p.ls, or -1. Like strchr it stops at a NUL byte, which then hides
// every later c: Redis waits for more data (until the too-big limit) rather
// than seeing the line. Scanning resumes where the previous call stopped.
func (p *Parser) findLineEnd(buf []byte, c byte) int {
	if p.nul {
		return -1
	}
	from := p.scan
	if from < p.ls {
		from = p.ls
	}
	rest := buf[from:]
	i := bytes.IndexByte(rest, c)
	seen := rest
	if i >= 0 {
		seen = rest[:i]
	}
	if bytes.IndexByte(seen, 0) >= 0 {
		p.nul = true
		return -1
	}
	if i < 0 {
		p.scan = len(buf)
		return -1
	}
	p.scan = from + i
	return from + i
}

// parseMultibulk continues a multibulk request (processMultibulkBuffer).
func (p *Parser) parseMultibulk(buf []byte, lim *Limits) ([][]byte, int, error) {
	if p.state == stCount {
		ll, next, ok := fastLen(buf, 0, '*')
		if !ok {
			cr := p.findLineEnd(buf, '\r')
			if cr < 0 {
				if len(buf)-p.ls > InlineMaxSize {
					return nil, 0, ErrTooBigMbulkCount
				}
				return nil, 0, nil
			}
			// Redis needs one byte after '\r' and skips it unchecked.
			if cr+1 >= len(buf) {
				return nil, 0, nil
			}
			ll, ok = numparse.String2ll(buf[p.ls+1 : cr])
			next = cr + 2
		}
		maxMb := int64(DefaultMaxMultibulk)
		if lim != nil && lim.MaxMultibulk > 0 {
			maxMb = lim.MaxMultibulk
		}
		if !ok || ll > maxMb {
			return nil, 0, ErrInvalidMbulkLen
		}
		if ll > UnauthMaxMultibulk && lim != nil && lim.RequireAuth {
			return nil, 0, ErrUnauthMbulkLen
		}
		if ll <= 0 {
			p.state = stStart
			return nil, next, nil
		}
		p.remain = int(ll)
		p.pos = next
		p.state = stBulkLen
		p.ls, p.scan, p.nul = p.pos, p.pos, false
	}
	for {
		if p.state == stBulkLen {
			// Fast path: "$<digits>\r" with the byte after '\r' present.
			// Anything else (no '\r' yet, a NUL, a sign, bad bytes) takes
			// the general path, which reproduces Redis exactly.
			ll, next, ok := fastLen(buf, p.pos, '$')
			if !ok {
				cr := p.findLineEnd(buf, '\r')
				if cr < 0 {
					if len(buf)-p.ls > InlineMaxSize {
						return nil, 0, ErrTooBigBulkCount
					}
					return nil, 0, nil
				}
				if cr+1 >= len(buf) {
					return nil, 0, nil
				}
				if buf[p.ls] != '$' {
					return nil, 0, expectedDollar(buf[p.ls])
				}
				ll, ok = numparse.String2ll(buf[p.ls+1 : cr])
				if !ok || ll < 0 {
					return nil, 0, ErrInvalidBulkLen
				}
				next = cr + 2
			}
			maxBulk := int64(DefaultMaxBulkLen)
			if lim != nil && lim.MaxBulkLen > 0 {
				maxBulk = lim.MaxBulkLen
			}
			// The second test only matters where int is 32 bits.
			if ll > maxBulk || ll > int64(math.MaxInt-2) {
				return nil, 0, ErrInvalidBulkLen
			}
			if ll > UnauthMaxBulkLen && lim != nil && lim.RequireAuth {
				return nil, 0, ErrUnauthBulkLen
			}
			p.bulkLen = int(ll)
			p.pos = next
			p.state = stBulk
		}
		// stBulk: Redis waits for the bulk plus two bytes and skips those
		// two bytes without checking that they are "\r\n".
		if len(buf)-p.pos < p.bulkLen+2 {
			return nil, 0, nil
		}
		end := p.pos + p.bulkLen
		p.spans = append(p.spans, span{off: p.pos, end: end})
		p.pos = end + 2
		p.remain--
		if p.remain == 0 {
			p.state = stStart
			return p.buildArgs(buf), p.pos, nil
		}
		p.state = stBulkLen
		p.ls, p.scan, p.nul = p.pos, p.pos, false
	}
}

// fastLen parses "<kind><digits>\r?" at i when it is a well-formed,
// complete line whose value numparse.String2ll accepts as a non-negative number:
// no leading zeros (except "0"), at most 18 digits (no overflow). It
// returns the value and the offset after the line.
func fastLen(buf []byte, i int, kind byte) (int64, int, bool) {
	if i >= len(buf) || buf[i] != kind {
		return 0, 0, false
	}
	j := i + 1
	// Stop after 19 digits: longer numbers take the general path, and a
	// long run of digits arriving byte by byte must not be rescanned
	// (quadratic) on every call.
	stop := min(len(buf), j+19)
	var v int64
	for ; j < stop; j++ {
		c := buf[j]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	digits := j - i - 1
	if digits == 0 || digits > 18 || (digits > 1 && buf[i+1] == '0') {
		return 0, 0, false
	}
	if j+1 >= len(buf) || buf[j] != '\r' {
		return 0, 0, false
	}
	return v, j + 2, true
}

// buildArgs turns the recorded spans into slices. It runs only once the
// command is complete, after any growth of p.scratch, so no arg points
// into a stale backing array.
func (p *Parser) buildArgs(buf []byte) [][]byte {
	args := p.args[:0]
	for _, s := range p.spans {
		if s.scratch {
			args = append(args, p.scratch[s.off:s.end:s.end])
		} else {
			args = append(args, buf[s.off:s.end:s.end])
		}
	}
	p.args = args
	p.spans = p.spans[:0]
	return args
}

// parseInline parses an inline request (processInlineBuffer): one line up
// to '\n', a single trailing '\r' stripped, split like sdssplitargs.
func (p *Parser) parseInline(buf []byte) ([][]byte, int, error) {
	nl := p.findLineEnd(buf, '\n')
	if nl < 0 {
		if len(buf)-p.ls > InlineMaxSize {
			return nil, 0, ErrTooBigInline
		}
		return nil, 0, nil
	}
	end := nl
	if end > p.ls && buf[end-1] == '\r' {
		end--
	}
	p.state = stStart
	if err := p.splitArgs(buf, p.ls, end); err != nil {
		return nil, 0, err
	}
	if len(p.spans) == 0 {
		return nil, nl + 1, nil
	}
	return p.buildArgs(buf), nl + 1, nil
}

// isSpace is C isspace() in the "C" locale, which Redis runs under for
// LC_CTYPE.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// token accumulates one inline argument. While the decoded bytes so far
// equal a contiguous range of the line it stays zero-copy (buf[a:b]);
// the first byte that breaks contiguity (a quote in the middle of the
// token, an escape) moves it into the scratch buffer.
type token struct {
	a, b    int // raw range in buf while !inScratch
	sa      int // start in scratch once inScratch
	started bool
	inScr   bool
}

// lit appends buf[i], a byte copied literally.
func (p *Parser) lit(t *token, buf []byte, i int) {
	switch {
	case t.inScr:
		p.scratch = append(p.scratch, buf[i])
	case !t.started || t.a == t.b:
		t.a, t.b, t.started = i, i+1, true
	case t.b == i:
		t.b++
	default:
		p.toScratch(t, buf)
		p.scratch = append(p.scratch, buf[i])
	}
}

// litRun appends buf[i:j], bytes copied literally.
func (p *Parser) litRun(t *token, buf []byte, i, j int) {
	switch {
	case t.inScr:
		p.scratch = append(p.scratch, buf[i:j]...)
	case !t.started:
		t.a, t.b, t.started = i, j, true
	case t.b == i:
		t.b = j
	default:
		p.toScratch(t, buf)
		p.scratch = append(p.scratch, buf[i:j]...)
	}
}

// dec appends a byte produced by an escape sequence.
func (p *Parser) dec(t *token, buf []byte, c byte) {
	if !t.inScr {
		p.toScratch(t, buf)
	}
	p.scratch = append(p.scratch, c)
}

func (p *Parser) toScratch(t *token, buf []byte) {
	t.sa = len(p.scratch)
	if t.started {
		p.scratch = append(p.scratch, buf[t.a:t.b]...)
	}
	t.inScr = true
}

// splitArgs is sdssplitargs over buf[i:end] (which holds no NUL and no
// '\n'), recording the arguments in p.spans.
func (p *Parser) splitArgs(buf []byte, i, end int) error {
	p.scratch = p.scratch[:0]
	for {
		for i < end && isSpace(buf[i]) {
			i++
		}
		if i >= end {
			return nil
		}
		var t token
		t.a, t.b = i, i
		inq, insq := false, false
	token:
		for {
			switch {
			case inq:
				if i >= end {
					return ErrUnbalancedQuotes
				}
				c := buf[i]
				switch {
				case c == '\\' && i+3 < end && buf[i+1] == 'x' && isHex(buf[i+2]) && isHex(buf[i+3]):
					p.dec(&t, buf, hexVal(buf[i+2])<<4|hexVal(buf[i+3]))
					i += 4
				case c == '\\' && i+1 < end:
					switch buf[i+1] {
					case 'n':
						p.dec(&t, buf, '\n')
					case 'r':
						p.dec(&t, buf, '\r')
					case 't':
						p.dec(&t, buf, '\t')
					case 'b':
						p.dec(&t, buf, '\b')
					case 'a':
						p.dec(&t, buf, '\a')
					default:
						// \" \\ \q ...: the escaped byte itself, which is
						// a byte of the line, so it may stay zero-copy.
						p.lit(&t, buf, i+1)
					}
					i += 2
				case c == '"':
					// The closing quote must be followed by a space or the end.
					if i+1 < end && !isSpace(buf[i+1]) {
						return ErrUnbalancedQuotes
					}
					i++
					break token
				default:
					// A run of plain bytes at once.
					j := i + 1
					for j < end && buf[j] != '\\' && buf[j] != '"' {
						j++
					}
					p.litRun(&t, buf, i, j)
					i = j
				}
			case insq:
				if i >= end {
					return ErrUnbalancedQuotes
				}
				c := buf[i]
				switch {
				case c == '\\' && i+1 < end && buf[i+1] == '\'':
					// The quote is a byte of the line: zero-copy if possible.
					p.lit(&t, buf, i+1)
					i += 2
				case c == '\'':
					if i+1 < end && !isSpace(buf[i+1]) {
						return ErrUnbalancedQuotes
					}
					i++
					break token
				default:
					p.lit(&t, buf, i)
					i++
				}
			default:
				if i >= end {
					break token
				}
				switch buf[i] {
				case ' ', '\n', '\r', '\t':
					// Only these end an unquoted token (not \v or \f).
					i++
					break token
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					// A run of bytes that neither end the token nor open
					// a quote, appended at once.
					j := i + 1
					for j < end {
						c := buf[j]
						if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' {
							break
						}
						j++
					}
					p.litRun(&t, buf, i, j)
					i = j
					continue
				}
				i++
			}
		}
		if t.inScr {
			p.spans = append(p.spans, span{off: t.sa, end: len(p.scratch), scratch: true})
		} else {
			p.spans = append(p.spans, span{off: t.a, end: t.b})
		}
	}
}
