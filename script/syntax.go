package script

import "strconv"

// lua51SyntaxError re-parses a chunk that gopher-lua refused with a
// recognizer of Lua 5.1's grammar (llex.c and lparser.c without code
// generation) and returns the message luaL_loadbuffer would give
// ("user_script:1: '=' expected near 'x'"), or "" if it finds no error
// (then gopher-lua's own message stands). It only runs on failed
// compiles, so it favors fidelity over speed.
func lua51SyntaxError(src []byte, name string) (msg string) {
	// The main chunk is vararg and outside any loop.
	p := &luaParser{src: string(src), name: name, line: 1, varargOK: []bool{true}, loops: []int{0}}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(luaSyntaxErr)
			if !ok {
				panic(r)
			}
			msg = string(e)
		}
	}()
	p.next()
	p.block(false)
	if p.tok != tkEOS {
		p.errorExpected(tkEOS)
	}
	return ""
}

type luaSyntaxErr string

// Token kinds: bytes are single-char tokens; the rest follow.
const (
	tkEOS = 256 + iota
	tkName
	tkNumber
	tkString
	tkConcat
	tkDots
	tkEq
	tkGE
	tkLE
	tkNE
	tkAnd
	tkBreak
	tkDo
	tkElse
	tkElseif
	tkEnd
	tkFalse
	tkFor
	tkFunction
	tkIf
	tkIn
	tkLocal
	tkNil
	tkNot
	tkOr
	tkRepeat
	tkReturn
	tkThen
	tkTrue
	tkUntil
	tkWhile
)

var luaReserved = map[string]int{
	"and": tkAnd, "break": tkBreak, "do": tkDo, "else": tkElse, "elseif": tkElseif,
	"end": tkEnd, "false": tkFalse, "for": tkFor, "function": tkFunction, "if": tkIf,
	"in": tkIn, "local": tkLocal, "nil": tkNil, "not": tkNot, "or": tkOr,
	"repeat": tkRepeat, "return": tkReturn, "then": tkThen, "true": tkTrue,
	"until": tkUntil, "while": tkWhile,
}

var luaTokenNames = map[int]string{
	tkEOS: "<eof>", tkName: "<name>", tkNumber: "<number>", tkString: "<string>",
	tkConcat: "..", tkDots: "...", tkEq: "==", tkGE: ">=", tkLE: "<=", tkNE: "~=",
}

type luaParser struct {
	src  string
	name string
	pos  int
	line int // ls->linenumber

	tok     int
	tokText string // raw text of a name, number or string token
	ahead   int    // lookahead token (0: none)
	aheadTx string
	aheadLn int

	varargOK []bool // per function: is it vararg
	loops    []int  // per function: enclosing loop count
	depth    int    // nCcalls: nested blocks and subexpressions
}

// luaMaxCCalls is LUAI_MAXCCALLS, Lua 5.1's bound on syntax nesting; it
// also bounds this recognizer's recursion.
const luaMaxCCalls = 200

// enterLevel is lparser.c's enterlevel.
func (p *luaParser) enterLevel() {
	p.depth++
	if p.depth > luaMaxCCalls {
		p.lexError("chunk has too many syntax levels", 0, "")
	}
}

func (p *luaParser) cur() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *luaParser) eof() bool { return p.pos >= len(p.src) }

func tokenStr(t int) string {
	if t < 256 {
		if t < 32 || t == 127 {
			return "char(" + strconv.Itoa(t) + ")"
		}
		return string(rune(t))
	}
	if s, ok := luaTokenNames[t]; ok {
		return s
	}
	for k, v := range luaReserved {
		if v == t {
			return k
		}
	}
	return "?"
}

// lexError is luaX_lexerror: near the token's text (for names, numbers
// and strings the raw text read so far).
func (p *luaParser) lexError(msg string, tok int, text string) {
	m := p.name + ":" + strconv.Itoa(p.line) + ": " + msg
	if tok != 0 {
		near := tokenStr(tok)
		if tok == tkName || tok == tkNumber || tok == tkString {
			near = text
		}
		m += " near '" + near + "'"
	}
	panic(luaSyntaxErr(m))
}

func (p *luaParser) syntaxError(msg string) { p.lexError(msg, p.tok, p.tokText) }

func (p *luaParser) errorExpected(t int) {
	p.syntaxError("'" + tokenStr(t) + "' expected")
}

func (p *luaParser) next() {
	if p.ahead != 0 {
		p.tok, p.tokText, p.ahead = p.ahead, p.aheadTx, 0
		return
	}
	p.tok, p.tokText = p.lex()
}

func (p *luaParser) lookahead() int {
	if p.ahead == 0 {
		p.ahead, p.aheadTx = p.lex()
	}
	return p.ahead
}

func (p *luaParser) newline() {
	c := p.cur()
	p.pos++
	if d := p.cur(); (d == '\n' || d == '\r') && d != c {
		p.pos++
	}
	p.line++
}

// skipSep reads "[==" or "]==" and returns the level, or -count-1 when
// the second bracket is missing.
func (p *luaParser) skipSep() int {
	s := p.cur()
	p.pos++
	count := 0
	for p.cur() == '=' && !p.eof() {
		p.pos++
		count++
	}
	if p.cur() == s && !p.eof() {
		return count
	}
	return -count - 1
}

func (p *luaParser) longString(start int, sep int, comment bool) string {
	p.pos++ // second '['
	if c := p.cur(); c == '\r' || c == '\n' {
		p.newline()
	}
	for {
		if p.eof() {
			what := "unfinished long string"
			if comment {
				what = "unfinished long comment"
			}
			p.lexError(what, tkEOS, "")
		}
		switch p.cur() {
		case ']':
			save := p.pos
			if p.skipSep() == sep {
				p.pos++
				return p.src[start:p.pos]
			}
			if p.pos == save {
				p.pos++
			}
		case '\n', '\r':
			p.newline()
		default:
			p.pos++
		}
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *luaParser) lex() (int, string) {
	for {
		if p.eof() {
			return tkEOS, ""
		}
		c := p.cur()
		switch {
		case c == '\n' || c == '\r':
			p.newline()
		case c == '-':
			p.pos++
			if p.cur() != '-' || p.eof() {
				return '-', ""
			}
			p.pos++
			if p.cur() == '[' && !p.eof() {
				start := p.pos
				if sep := p.skipSep(); sep >= 0 {
					p.longString(start, sep, true)
					continue
				}
				p.pos = start
			}
			for !p.eof() && p.cur() != '\n' && p.cur() != '\r' {
				p.pos++
			}
		case c == '[':
			start := p.pos
			sep := p.skipSep()
			if sep >= 0 {
				return tkString, p.longString(start, sep, false)
			}
			if sep != -1 {
				p.lexError("invalid long string delimiter", tkString, p.src[start:p.pos])
			}
			return '[', ""
		case c == '=' || c == '<' || c == '>' || c == '~':
			p.pos++
			if p.cur() != '=' || p.eof() {
				return int(c), ""
			}
			p.pos++
			switch c {
			case '=':
				return tkEq, ""
			case '<':
				return tkLE, ""
			case '>':
				return tkGE, ""
			}
			return tkNE, ""
		case c == '"' || c == '\'':
			return p.readString(c)
		case c == '.':
			start := p.pos
			p.pos++
			if p.cur() == '.' && !p.eof() {
				p.pos++
				if p.cur() == '.' && !p.eof() {
					p.pos++
					return tkDots, ""
				}
				return tkConcat, ""
			}
			if !isDigit(p.cur()) || p.eof() {
				return '.', ""
			}
			p.pos = start
			return p.readNumeral()
		case isDigit(c):
			return p.readNumeral()
		case isAlpha(c):
			start := p.pos
			for !p.eof() && (isAlpha(p.cur()) || isDigit(p.cur())) {
				p.pos++
			}
			w := p.src[start:p.pos]
			if t, ok := luaReserved[w]; ok {
				return t, w
			}
			return tkName, w
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			p.pos++
		default:
			p.pos++
			return int(c), ""
		}
	}
}

func (p *luaParser) readNumeral() (int, string) {
	start := p.pos
	for !p.eof() && (isDigit(p.cur()) || p.cur() == '.') {
		p.pos++
	}
	if !p.eof() && (p.cur() == 'e' || p.cur() == 'E') {
		p.pos++
		if !p.eof() && (p.cur() == '+' || p.cur() == '-') {
			p.pos++
		}
	}
	for !p.eof() && (isAlpha(p.cur()) || isDigit(p.cur())) {
		p.pos++
	}
	text := p.src[start:p.pos]
	if _, ok := parseLuaNumber(text); !ok {
		p.lexError("malformed number", tkNumber, text)
	}
	return tkNumber, text
}

func (p *luaParser) readString(del byte) (int, string) {
	start := p.pos
	p.pos++
	for {
		if p.eof() {
			p.lexError("unfinished string", tkEOS, "")
		}
		c := p.cur()
		switch c {
		case del:
			p.pos++
			return tkString, p.src[start:p.pos]
		case '\n', '\r':
			p.lexError("unfinished string", tkString, p.src[start:p.pos])
		case '\\':
			p.pos++
			if p.eof() {
				continue // unfinished string at the top of the loop
			}
			switch e := p.cur(); {
			case e == '\n' || e == '\r':
				p.newline()
			case isDigit(e):
				v := 0
				for i := 0; i < 3 && !p.eof() && isDigit(p.cur()); i++ {
					v = v*10 + int(p.cur()-'0')
					p.pos++
				}
				if v > 255 {
					p.lexError("escape sequence too large", tkString, p.src[start:p.pos])
				}
			default:
				p.pos++
			}
		default:
			p.pos++
		}
	}
}

// Parser: lparser.c's recursive descent, checking only.

func (p *luaParser) testNext(t int) bool {
	if p.tok == t {
		p.next()
		return true
	}
	return false
}

func (p *luaParser) check(t int) {
	if p.tok != t {
		p.errorExpected(t)
	}
}

func (p *luaParser) checkNext(t int) {
	p.check(t)
	p.next()
}

func (p *luaParser) checkMatch(what, who, line int) {
	if !p.testNext(what) {
		if line == p.line {
			p.errorExpected(what)
		}
		p.syntaxError("'" + tokenStr(what) + "' expected (to close '" + tokenStr(who) + "' at line " + strconv.Itoa(line) + ")")
	}
}

func (p *luaParser) checkName() {
	p.check(tkName)
	p.next()
}

func blockFollow(t int) bool {
	switch t {
	case tkElse, tkElseif, tkEnd, tkUntil, tkEOS:
		return true
	}
	return false
}

// block is chunk(): statements until a block end; a return or break
// must be last.
func (p *luaParser) block(_ bool) {
	p.enterLevel()
	for !blockFollow(p.tok) {
		last := p.statement()
		p.testNext(';')
		if last {
			break
		}
	}
	p.depth--
}

func (p *luaParser) statement() bool {
	line := p.line
	switch p.tok {
	case tkIf:
		p.next()
		p.cond()
		p.checkNext(tkThen)
		p.block(false)
		for p.tok == tkElseif {
			p.next()
			p.cond()
			p.checkNext(tkThen)
			p.block(false)
		}
		if p.testNext(tkElse) {
			p.block(false)
		}
		p.checkMatch(tkEnd, tkIf, line)
	case tkWhile:
		p.next()
		p.cond()
		p.checkNext(tkDo)
		p.loopBlock()
		p.checkMatch(tkEnd, tkWhile, line)
	case tkDo:
		p.next()
		p.block(false)
		p.checkMatch(tkEnd, tkDo, line)
	case tkFor:
		p.next()
		p.checkName()
		switch p.tok {
		case '=':
			p.next()
			p.expr()
			p.checkNext(',')
			p.expr()
			if p.testNext(',') {
				p.expr()
			}
		case ',', tkIn:
			for p.testNext(',') {
				p.checkName()
			}
			p.checkNext(tkIn)
			p.exprList()
		default:
			p.syntaxError("'=' or 'in' expected")
		}
		p.checkNext(tkDo)
		p.loopBlock()
		p.checkMatch(tkEnd, tkFor, line)
	case tkRepeat:
		p.next()
		p.loops[len(p.loops)-1]++
		p.block(false)
		p.loops[len(p.loops)-1]--
		p.checkMatch(tkUntil, tkRepeat, line)
		p.cond()
	case tkFunction:
		p.next()
		p.checkName()
		for p.tok == '.' {
			p.next()
			p.checkName()
		}
		method := false
		if p.tok == ':' {
			p.next()
			p.checkName()
			method = true
		}
		p.body(method, line)
	case tkLocal:
		p.next()
		if p.testNext(tkFunction) {
			p.checkName()
			p.body(false, line)
		} else {
			for {
				p.checkName()
				if !p.testNext(',') {
					break
				}
			}
			if p.testNext('=') {
				p.exprList()
			}
		}
	case tkReturn:
		p.next()
		if !blockFollow(p.tok) && p.tok != ';' {
			p.exprList()
		}
		return true
	case tkBreak:
		p.next()
		if p.loops[len(p.loops)-1] == 0 {
			p.syntaxError("no loop to break")
		}
		return true
	default:
		p.exprStat()
	}
	return false
}

func (p *luaParser) loopBlock() {
	p.loops[len(p.loops)-1]++
	p.block(false)
	p.loops[len(p.loops)-1]--
}

func (p *luaParser) cond() { p.expr() }

// Expression kinds that matter to the checks.
const (
	exOther = iota
	exVar   // local, global or indexed: assignable
	exCall
	exVararg
)

func (p *luaParser) exprStat() {
	k := p.primaryExp()
	if k == exCall {
		return
	}
	p.assignment(k)
}

func (p *luaParser) assignment(k int) {
	if k != exVar {
		p.syntaxError("syntax error")
	}
	if p.testNext(',') {
		p.assignment(p.primaryExp())
		return
	}
	p.checkNext('=')
	p.exprList()
}

func (p *luaParser) exprList() {
	p.expr()
	for p.testNext(',') {
		p.expr()
	}
}

// primaryExp is lparser.c's primaryexp: prefixexp { suffixes }.
func (p *luaParser) primaryExp() int {
	k := exOther
	switch p.tok {
	case '(':
		line := p.line
		p.next()
		p.expr()
		p.checkMatch(')', '(', line)
	case tkName:
		p.next()
		k = exVar
	default:
		p.syntaxError("unexpected symbol")
	}
	for {
		switch p.tok {
		case '.':
			p.next()
			p.checkName()
			k = exVar
		case '[':
			p.next()
			p.expr()
			p.checkNext(']')
			k = exVar
		case ':':
			p.next()
			p.checkName()
			p.funcArgs()
			k = exCall
		case '(', tkString, '{':
			p.funcArgs()
			k = exCall
		default:
			return k
		}
	}
}

func (p *luaParser) funcArgs() {
	line := p.line
	switch p.tok {
	case '(':
		if line != p.prevLine() {
			p.syntaxError("ambiguous syntax (function call x new statement)")
		}
		p.next()
		if p.tok != ')' {
			p.exprList()
		}
		p.checkMatch(')', '(', line)
	case '{':
		p.constructor()
	case tkString:
		p.next()
	default:
		p.syntaxError("function arguments expected")
	}
}

// prevLine is ls->lastline: the line of the token before '('. Lua 5.1
// refuses a call whose '(' starts a new line; this recognizer tracks only
// the current line, so the check is approximated by looking back.
func (p *luaParser) prevLine() int {
	// The '(' was just read; count the newlines between the previous
	// non-space character and it.
	i := p.pos - 1
	for i >= 0 && p.src[i] != '(' {
		i--
	}
	j := i - 1
	nl := 0
	for j >= 0 && (p.src[j] == ' ' || p.src[j] == '\t' || p.src[j] == '\n' || p.src[j] == '\r') {
		if p.src[j] == '\n' {
			nl++
		}
		j--
	}
	return p.line - nl
}

func (p *luaParser) constructor() {
	line := p.line
	p.checkNext('{')
	for p.tok != '}' {
		switch p.tok {
		case tkName:
			if p.lookahead() != '=' {
				p.expr()
			} else {
				p.next()
				p.checkNext('=')
				p.expr()
			}
		case '[':
			p.next()
			p.expr()
			p.checkNext(']')
			p.checkNext('=')
			p.expr()
		default:
			p.expr()
		}
		if !p.testNext(',') && !p.testNext(';') {
			break
		}
	}
	p.checkMatch('}', '{', line)
}

func (p *luaParser) body(method bool, line int) {
	p.checkNext('(')
	vararg := false
	if p.tok != ')' {
		for {
			switch p.tok {
			case tkName:
				p.next()
			case tkDots:
				p.next()
				vararg = true
			default:
				p.syntaxError("<name> or '...' expected")
			}
			if vararg || !p.testNext(',') {
				break
			}
		}
	}
	p.checkNext(')')
	p.varargOK = append(p.varargOK, vararg)
	p.loops = append(p.loops, 0)
	p.block(false)
	p.loops = p.loops[:len(p.loops)-1]
	p.varargOK = p.varargOK[:len(p.varargOK)-1]
	p.checkMatch(tkEnd, tkFunction, line)
}

func binaryPrio(t int) (left, right int, ok bool) {
	switch t {
	case '+', '-':
		return 6, 6, true
	case '*', '/', '%':
		return 7, 7, true
	case '^':
		return 10, 9, true
	case tkConcat:
		return 5, 4, true
	case tkNE, tkEq, '<', tkLE, '>', tkGE:
		return 3, 3, true
	case tkAnd:
		return 2, 2, true
	case tkOr:
		return 1, 1, true
	}
	return 0, 0, false
}

const unaryPrio = 8

func (p *luaParser) expr() { p.subExpr(0) }

func (p *luaParser) subExpr(limit int) {
	p.enterLevel()
	defer func() { p.depth-- }()
	if p.tok == tkNot || p.tok == '-' || p.tok == '#' {
		p.next()
		p.subExpr(unaryPrio)
	} else {
		p.simpleExp()
	}
	for {
		l, r, ok := binaryPrio(p.tok)
		if !ok || l <= limit {
			return
		}
		p.next()
		p.subExpr(r)
	}
}

func (p *luaParser) simpleExp() {
	switch p.tok {
	case tkNumber, tkString, tkNil, tkTrue, tkFalse:
		p.next()
	case tkDots:
		if !p.varargOK[len(p.varargOK)-1] {
			p.syntaxError("cannot use '...' outside a vararg function")
		}
		p.next()
	case '{':
		p.constructor()
	case tkFunction:
		line := p.line
		p.next()
		p.body(false, line)
	default:
		p.primaryExp()
	}
}
