package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNotifyDiff runs a scripted sequence over every command family on
// redis-server 7.0 and Basalt, both with notify-keyspace-events KEAmn
// (every class, "keymiss" and "new" included), and compares, command by
// command, the reply and the complete stream of keyspace and keyevent
// messages a PSUBSCRIBE __key*@*__:* client receives. After each command
// the main client PUBLISHes to a marker channel the subscriber also
// listens on, so each command's messages are read up to the marker.
//
// Script lines: a command (split as redis-cli does); "&cmd" sends cmd on
// a new connection without reading its reply (a blocking command, served
// by a later command); "sleep MS" waits (expiry; active expiry is off on
// both servers, so keys expire lazily when touched).
func TestNotifyDiff(t *testing.T) {
	p := startPair(t)
	ref := newNotifySide(t, p.ref)
	tgt := newNotifySide(t, p.tgt)
	afterBlock := false
	commands, messages := 0, 0
	for n, line := range strings.Split(notifyScript, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if ms, ok := strings.CutPrefix(line, "sleep "); ok {
			d, _ := strconv.Atoi(ms)
			time.Sleep(time.Duration(d) * time.Millisecond)
			continue
		}
		blocking := line[0] == '&'
		args, err := SplitArgs(strings.TrimPrefix(line, "&"))
		if err != nil {
			t.Fatalf("script line %d: %v", n+1, err)
		}
		if blocking {
			ref.block(t, args)
			tgt.block(t, args)
			// Let both servers park the client before the next command.
			time.Sleep(100 * time.Millisecond)
			afterBlock = true
			continue
		}
		rr, rm := ref.run(t, args, afterBlock)
		tr, tm := tgt.run(t, args, afterBlock)
		afterBlock = false
		commands++
		if rm != "" {
			messages += strings.Count(rm, " | ") + 1
		}
		if !notifyRandomReply[strings.ToLower(string(args[0]))] && !bytes.Equal(rr, tr) {
			t.Errorf("line %d: %s: reply differs\n redis: %s\nbasalt: %s", n+1, line, quoteReply(rr), quoteReply(tr))
		}
		if rm != tm {
			t.Errorf("line %d: %s: notifications differ\n redis: %s\nbasalt: %s", n+1, line, rm, tm)
		}
	}
	// A script that stopped producing messages would compare nothing.
	if messages < 500 {
		t.Errorf("only %d messages from redis over %d commands", messages, commands)
	}
	t.Logf("%d commands, %d messages compared", commands, messages)
}

// notifyRandomReply are the commands whose reply depends on random
// choices: their notifications are compared, their replies are not.
var notifyRandomReply = map[string]bool{"spop": true, "srandmember": true, "keys": true}

// notifySide is one server of TestNotifyDiff: the client running the
// script, the subscriber, and the connections of blocked commands.
type notifySide struct {
	s        *server
	main     *Client
	sub      *Client
	db       string
	blockers []*Client
}

const notifyMarker = "__notify_test_marker__"

func newNotifySide(t *testing.T, s *server) *notifySide {
	t.Helper()
	side := &notifySide{s: s, db: "0"}
	side.main = side.dial(t)
	side.sub = side.dial(t)
	side.must(t, side.main, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	side.must(t, side.main, "CONFIG", "SET", "notify-keyspace-events", "KEAmn")
	for _, cmd := range [][]string{{"PSUBSCRIBE", "__key*@*__:*"}, {"SUBSCRIBE", notifyMarker}} {
		if _, err := side.sub.DoStrings(cmd...); err != nil {
			t.Fatalf("%s: %s: %v", s.name, cmd[0], err)
		}
	}
	return side
}

func (side *notifySide) dial(t *testing.T) *Client {
	t.Helper()
	c, err := Dial(side.s.addr, replyTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", side.s.name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (side *notifySide) must(t *testing.T, c *Client, args ...string) {
	t.Helper()
	r, err := c.DoStrings(args...)
	if err != nil || !bytes.HasPrefix(r, []byte("+OK")) {
		t.Fatalf("%s: %s: %q %v", side.s.name, strings.Join(args, " "), r, err)
	}
}

// block sends a blocking command on a new connection in the selected db.
func (side *notifySide) block(t *testing.T, args [][]byte) {
	t.Helper()
	c := side.dial(t)
	if side.db != "0" {
		side.must(t, c, "SELECT", side.db)
	}
	if err := c.Send(args); err != nil {
		t.Fatalf("%s: %v", side.s.name, err)
	}
	side.blockers = append(side.blockers, c)
}

// run sends one command and returns its reply and the messages it caused,
// rendered one per line as "pattern channel payload".
func (side *notifySide) run(t *testing.T, args [][]byte, settle bool) ([]byte, string) {
	t.Helper()
	reply, err := side.main.Do(args)
	if err != nil {
		t.Fatalf("%s: %s: %v", side.s.name, argsText(args), err)
	}
	if strings.EqualFold(string(args[0]), "select") && bytes.Equal(reply, []byte("+OK\r\n")) {
		side.db = string(args[1])
	}
	if settle {
		// A served blocked client may report from another event loop.
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := side.main.DoStrings("PUBLISH", notifyMarker, "x"); err != nil {
		t.Fatalf("%s: PUBLISH: %v", side.s.name, err)
	}
	var msgs []string
	for {
		m, err := side.sub.ReadReply()
		if err != nil {
			t.Fatalf("%s: reading notifications after %s: %v (got %q)", side.s.name, argsText(args), err, msgs)
		}
		if bytes.Contains(m, []byte(notifyMarker)) {
			break
		}
		msgs = append(msgs, notifyMessageText(m))
	}
	return reply, strings.Join(msgs, " | ")
}

// notifyMessageText renders a pmessage push compactly; anything else is
// quoted whole (and will not match).
func notifyMessageText(m []byte) string {
	var parts []string
	rest := m
	if !bytes.HasPrefix(rest, []byte("*4\r\n")) {
		return quoteReply(m)
	}
	rest = rest[4:]
	for i := 0; i < 4; i++ {
		if len(rest) == 0 || rest[0] != '$' {
			return quoteReply(m)
		}
		end := bytes.Index(rest, []byte("\r\n"))
		n, err := strconv.Atoi(string(rest[1:end]))
		if err != nil || end+2+n+2 > len(rest) {
			return quoteReply(m)
		}
		parts = append(parts, string(rest[end+2:end+2+n]))
		rest = rest[end+2+n+2:]
	}
	if parts[0] != "pmessage" {
		return quoteReply(m)
	}
	return fmt.Sprintf("%s %s", parts[2], parts[3])
}

// notifyScript covers every family; it is the script command/testdata/
// notify.golden was recorded from (command's TestNotifyGolden).
const notifyScript = `
# strings
set s1 v
set s1 v2
set s1 v3 nx
set s1 v4 xx
set s2 v xx
set s2 v nx
set s2 w get
set s3 w get
set s3 x ex 100
set s3 y keepttl
set s3 z px 100000
set s3 z exat 99999999999
set s3 z pxat 99999999999999
set s3 q
setnx s3 a
setnx s4 a
setex s5 100 v
psetex s5 100000 v
setex s5 0 v
getex s5
getex s5 ex 100
getex s5 persist
getex s5 pxat 99999999999999
getex nosuch ex 10
getex s5 px 0
getex s5 persist
getdel s5
getdel s5
getset s6 a
getset s6 b
mget s1 nosuch s6
mset m1 a m2 b m1 c
msetnx m1 a m3 b
msetnx m3 a m4 b
incr n1
incr n1
decr n1
incrby n1 10
decrby n1 3
incrbyfloat n1 1.5
incrbyfloat n2 2
incr s1
incrbyfloat s1 1
append ap abc
append ap def
append ap ""
strlen ap
strlen nosuch
getrange ap 0 1
getrange nosuch 0 1
substr ap 0 1
substr nosuch 0 1
setrange sr 0 ""
setrange sr 2 xy
setrange sr 0 ""
setrange sr 0 ab
lcs ap sr
lcs nosuch ap
get nosuch
set ex1 v ex 1
set ex1 v px -5
set ex1 v ex 0
set ex2 v
set ex2 v exat 1
exists ex2
# bitmaps
setbit b1 7 1
setbit b1 7 1
setbit b1 100 0
getbit b1 7
getbit nosuch 7
bitcount b1
bitcount nosuch
bitpos b1 1
bitpos nosuch 1
bitfield bf get u8 0
bitfield bf2 set u8 0 255 incrby u8 0 1
bitfield bf2 overflow fail incrby u8 0 300
bitfield bf2 get u8 0
bitfield bf3 overflow fail incrby u8 0 300
bitfield_ro bf2 get u8 0
bitfield_ro nosuch get u8 0
bitop and bo b1 bf2
bitop or bo nosuch nosuch2
bitop or bo2 nosuch nosuch2
bitop not bo3 b1
bitop xor bo3 b1 b1
set str1 foobar
bitop and bo4 str1
setbit sb1 3 0
setbit sb1 3 0
bitfield sb2 incrby u2 0 5
bitfield sb2 overflow sat incrby u2 0 5
bitfield sb2 overflow sat incrby u2 0 5
lpush gdl a
getdel gdl
# keys
set k1 v
set k2 v
del k1 k2 nosuch
unlink k1
set k1 v
unlink k1 k1
set k1 v
exists k1 nosuch
type k1
type nosuch
touch k1 nosuch
expire k1 100
expire k1 100 nx
expire k1 200 xx
expire k1 50 gt
expire k1 50 lt
expire nosuch 100
ttl k1
ttl nosuch
pttl nosuch
expiretime nosuch
pexpireat k1 1999999999999
pexpiretime k1
pexpire k1 100000
expireat k1 99999999999
pexpireat k1 99999999999999
persist k1
persist k1
persist nosuch
expire k1 0
set k1 v
pexpire k1 -1
set k1 v
expireat k1 1
set k1 v
expire k1 -1 nx
set k1 v
set k2 w
rename k1 k2
rename k2 k2
rename nosuch k2
set k1 x ex 100
rename k2 k1
renamenx k1 k3
set k1 y
renamenx k1 k3
renamenx k1 k1
copy k1 k4
copy k1 k4
copy k1 k4 replace
copy nosuch k4
copy k1 k1
copy k1 k1 db 1
copy k1 k4 db 1 replace
rpush lk a b c
copy lk lk2
move k1 2
move k1 2
move nosuch 2
set k5 v
set k6 v ex 100
copy k6 k5 replace
set kt v ex 100
rename kt kt2
dbsize
keys k*
object encoding k5
object encoding nosuch
object freq nosuch
dump nosuch
restore r1 0 "\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"
restore r1 0 "\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"
restore r1 100000 "\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce" replace
restore r1 1 "\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce" replace absttl
restore r2 1 "\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce" absttl
exists r1 r2
restore r3 0 "\x12\x01\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\n\x00h\xeb\n\x89\x13A\xbb\xb1"
type r3
select 1
set d1 v
flushdb
set d1 v
swapdb 0 1
swapdb 0 1
select 0
# lists
lpush l1 a b c
rpush l1 d e
lpushx l2 a
rpushx l2 a
lpushx l1 z
rpushx l1 y
linsert l1 before a x
linsert l1 after nosuchpivot x
linsert l2 after a x
lset l1 0 q
lset l2 0 q
lpop l1
rpop l1 2
lpop l1 0
lpop nosuch
lpop nosuch 2
lrange l1 0 -1
llen l1
llen nosuch
lindex l1 0
lindex nosuch 0
lpos l1 a
lpos nosuch a
lrem l1 0 nosuchelem
lrem l1 1 a
ltrim l1 0 -1
ltrim l1 0 1
ltrim l1 5 1
rpush l3 a b c
lmove l3 l3 left right
lmove l3 l4 right left
rpoplpush l3 l4
rpoplpush l3 l4
rpoplpush l3 l4
lmove nosuch l4 left left
rpush l5 a
lmove l5 l5 left left
lmpop 2 nosuch l4 left count 5
lmpop 1 nosuch left
rpush l6 a b c
blpop nosuch l6 0
brpop l6 0
blmove l6 l7 left right 0
brpoplpush l7 l8 0
blmpop 0 1 l8 left count 3
lset s1 0 x
rpush lw a
lmove lw s1 left left
lmove nosuch s1 left left
rpush lm1 a b
lmpop 1 lm1 right count 10
rpoplpush lw lw
lpush s1 x
# hashes
hset h1 a 1 b 2
hset h1 a 1
hmset h1 c 3
hsetnx h1 a 1
hsetnx h1 d 4
hsetnx h2 a 1
hincrby h1 a 5
hincrby h3 a 5
hincrbyfloat h1 b 1.5
hincrbyfloat h4 b 1.5
hincrby h1 nosuch x
hdel h1 nosuch
hdel h1 a b
hdel h1 c d
hset hd a 1
hdel hd a a
hdel nosuch a
hget h2 a
hget nosuch a
hmget nosuch a
hgetall nosuch
hkeys h2
hvals nosuch
hlen nosuch
hexists nosuch a
hstrlen nosuch a
hrandfield nosuch
hscan nosuch 0
hscan h2 0
# sets
sadd st1 a b c
sadd st1 a
srem st1 nosuch
srem st1 a
sadd st2 x
smove st1 st2 b
smove st1 st2 b
smove st1 st3 c
smove st3 st3 c
smove st3 st3 nosuch
smove nosuch st3 a
sadd st4 a b c d e
spop st4
spop st4 0
spop st4 2
spop st4 10
spop nosuch
spop nosuch 2
sadd st5 a b
spop st5 2
srandmember st3
srandmember nosuch
sismember nosuch a
smismember nosuch a
scard nosuch
smembers nosuch
sadd sa 1 2 3
sadd sb 3 4
sinter sa sb
sinter sa nosuch
sunion sa nosuch
sdiff sa sb
sinterstore sd1 sa sb
sinterstore sd1 sa nosuch
sinterstore sd1 sa nosuch
sunionstore sd2 sa sb
sunionstore sd2 nosuch
sdiffstore sd3 sa sb
sdiffstore sd3 sa sa
sdiffstore sd3 nosuch sa
sintercard 2 sa sb
sintercard 2 sa nosuch
sscan nosuch 0
sadd sm1 a b
sadd sm2 a
smove sm1 sm2 a
smove sm1 sm2 b
sunionstore sm2 sm2 sa
sinterstore sm2 sm2 nosuch
sadd s1 x
# zsets
zadd z1 1 a 2 b 3 c
zadd z1 1 a
zadd z1 5 a
zadd z1 incr 1 a
zadd z1 nx 10 a
zadd z1 xx 10 d
zadd z1 gt 1 a
zadd z1 lt 1 a
zadd z1 ch 1 a
zadd z2 xx 1 a
zadd z2 nx incr 1 a
zincrby z1 2 b
zincrby z3 2 b
zrem z1 nosuch
zrem z1 a
zrem z3 b
zadd z4 1 a 2 b 3 c 4 d
zremrangebyscore z4 10 20
zremrangebyscore z4 1 1
zremrangebyrank z4 0 0
zrem z4 c d
zadd z4 0 x 0 y 0 z
zremrangebylex z4 [x [y
zremrangebylex z4 - +
zremrangebyrank nosuch 0 1
zadd z5 1 a 2 b 3 c
zpopmin z5
zpopmax z5 0
zpopmax z5 5
zpopmin nosuch
zadd z6 1 a 2 b
bzpopmin z6 0
bzpopmax nosuch z6 0
zadd z7 1 a 2 b 3 c
zmpop 1 z7 min count 2
zmpop 1 z7 max
zmpop 1 nosuch max
zadd z8 1 a 2 b
bzmpop 0 2 nosuch z8 max count 10
zadd za 1 a 2 b 3 c
zadd zb 1 b 5 d
zrangestore zd1 za 0 -1
zrangestore zd1 za 5 10
zrangestore zd1 za 5 10
zrangestore zd1 nosuch 0 -1
zunionstore zd2 2 za zb
zunionstore zd2 1 nosuch
zinterstore zd3 2 za zb
zinterstore zd3 2 za nosuch
zdiffstore zd4 2 za zb
zdiffstore zd4 2 za za
zdiffstore zd4 1 nosuch
zunion 2 za nosuch
zinter 2 za nosuch
zdiff 2 nosuch za
zintercard 2 za nosuch
zrange za 0 -1
zrange nosuch 0 -1
zrangebyscore nosuch 0 1
zrevrangebyscore nosuch 0 1
zrangebylex nosuch - +
zrevrange nosuch 0 1
zrevrangebylex nosuch + -
zrevrangebylex za + -
zrangestore za za 0 0
zunionstore za 1 za weights 2
zscore nosuch a
zmscore nosuch a
zcard nosuch
zcount nosuch 0 1
zlexcount nosuch - +
zrank nosuch a
zrevrank nosuch a
zrandmember nosuch
zscan nosuch 0
zadd s1 1 a
# hll
pfadd hl1
pfadd hl1 a b c
pfadd hl1 a
pfadd hl1 d
pfcount hl1
pfcount hl1
pfcount nosuch
pfcount hl1 nosuch
pfadd hl2 x
pfmerge hl3 hl1 hl2
pfmerge hl3 nosuch
pfmerge hl4
pfmerge hl5 nosuch
pfcount s1
pfdebug encoding hl1
pfdebug todense hl1
pfdebug getreg nosuch
# geo
geoadd g1 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd g1 13.361389 38.115556 Palermo
geoadd g1 xx 13.0 38.0 Nosuch
geoadd g1 ch 13.0 38.0 Palermo
geodist g1 Palermo Catania
geodist nosuch a b
geohash nosuch a
geopos nosuch a
georadius g1 15 37 200 km
georadius nosuch 15 37 200 km
georadius g1 15 37 200 km store gd1
georadius g1 15 37 200 km storedist gd2
georadius g1 0 0 1 km store gd1
georadius g1 0 0 1 km store gd1
georadiusbymember g1 Palermo 200 km store gd3
georadius_ro g1 15 37 200 km
georadiusbymember_ro nosuch Palermo 200 km
geosearch g1 frommember Palermo byradius 200 km
geosearch nosuch fromlonlat 0 0 byradius 200 km
geosearchstore gd4 g1 frommember Palermo byradius 200 km
geosearchstore gd4 g1 frommember Palermo byradius 200 km storedist
geosearchstore gd4 g1 fromlonlat 0 0 byradius 1 km
geosearchstore gd4 nosuch fromlonlat 0 0 byradius 1 km
# sort
rpush so1 3 1 2
sort so1
sort nosuch
sort so1 store so2
sort so1 store so2
sort nosuch store so2
sort nosuch store so2
sadd so3 c a b
sort so3 alpha store so4
sort so1 by nosort store so5
sort_ro so1
sort_ro nosuch
set w_1 3
set w_2 1
set w_3 2
sort so1 by w_* get w_* get # store so6
sort so1 limit 0 0 store so6
# blocking serve paths
&blpop wl1 0
rpush wl1 a b
&brpop wl2 0
lpush wl2 a
&blmove wl3 wd3 left right 0
rpush wl3 a
&brpoplpush wl4 wd4 0
rpush wl4 a b
&blmpop 0 1 wl5 left count 5
rpush wl5 a b
&bzpopmin wz1 0
zadd wz1 1 a
&bzpopmax wz2 0
zadd wz2 1 a 2 b
&bzmpop 0 1 wz3 min count 5
zadd wz3 1 a 2 b
&blmove wl6 wl6 left right 0
rpush wl6 a
# expired keys
set e1 v px 10
set e2 v px 10
set e3 v px 10
set e4 v px 10
rpush e5 a
pexpire e5 10
sadd e6 a
pexpire e6 10
set e7 v px 10
set e8 v px 10
set e9 v px 10
sleep 40
get e1
del e2
set e3 x
exists e4
lpush e5 b
sadd e6 b
rename e7 e70
ttl e8
incr e9
select 3
set x1 v px 10
sleep 30
scan 0
set x2 v px 10
sleep 30
randomkey
select 0
flushall
set a v
select 1
set a v
select 0
flushall
`
