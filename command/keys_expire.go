package command

import (
	"fmt"
	"github.com/basaltdb/basalt/datatypes"
	"math"
	"strconv"
)

// EXPIRE option flags (Redis's EXPIRE_NX...).
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

func cmdExpire(c *Ctx)    { expireGeneric(c, c.Now, true) }
func cmdPExpire(c *Ctx)   { expireGeneric(c, c.Now, false) }
func cmdExpireAt(c *Ctx)  { expireGeneric(c, 0, true) }
func cmdPExpireAt(c *Ctx) { expireGeneric(c, 0, false) }

// parseExpireFlags is Redis's parseExtendedExpireArgumentsOrReply.
func parseExpireFlags(c *Ctx) (int, bool) {
	flags := 0
	for _, opt := range c.Args[3:] {
		switch {
		case datatypes.EqualFoldC(opt, "nx"):
			flags |= expireNX
		case datatypes.EqualFoldC(opt, "xx"):
			flags |= expireXX
		case datatypes.EqualFoldC(opt, "gt"):
			flags |= expireGT
		case datatypes.EqualFoldC(opt, "lt"):
			flags |= expireLT
		default:
			// The C string ends at its first NUL.
			if i := bytes0(opt); i >= 0 {
				opt = opt[:i]
			}
			c.Out.Error(errUnsupportedOpt + string(opt))
			return 0, false
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.Out.Error(ErrExpireNXCompat)
		return 0, false
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.Out.Error(ErrExpireGTLT)
		return 0, false
	}
	return flags, true
}

func bytes0(b []byte) int {
	for i, ch := range b {
		if ch == 0 {
			return i
		}
	}
	return -1
}

// expireGeneric is Redis's expireGenericCommand: basetime is now (EXPIRE,
// PEXPIRE) or 0 (the AT forms). A time already past deletes the key.
func expireGeneric(c *Ctx, basetime int64, seconds bool) {
	flags, ok := parseExpireFlags(c)
	if !ok {
		return
	}
	when, ok := datatypes.ParseInt(c.Args[2])
	if !ok {
		c.Out.Error(ErrNotInt)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.Out.Error(fmt.Sprintf(ErrInvalidExpire, c.Spec.Name))
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-basetime {
		c.Out.Error(fmt.Sprintf(ErrInvalidExpire, c.Spec.Name))
		return
	}
	when += basetime

	key := c.Args[1]
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if e == nil {
		c.Out.Int(0)
		return
	}
	if flags != 0 {
		cur := e.Expire // 0: no expiry (Redis's -1, an infinite TTL)
		switch {
		case flags&expireNX != 0 && cur != 0,
			flags&expireXX != 0 && cur == 0,
			flags&expireGT != 0 && (cur == 0 || when <= cur),
			flags&expireLT != 0 && cur != 0 && when >= cur:
			c.Out.Int(0)
			return
		}
	}
	if when <= c.Now {
		sh.Remove(c.DB, key)
		c.Effect([]byte("DEL"), key)
		c.ModifiedNotify(NotifyGeneric, "del", key)
		c.Out.Int(1)
		return
	}
	sh.SetExpire(c.DB, e, when)
	var tmp [20]byte
	c.Effect([]byte("PEXPIREAT"), key, strconv.AppendInt(tmp[:0], when, 10))
	c.ModifiedNotify(NotifyGeneric, "expire", key)
	c.Out.Int(1)
}

func cmdTTL(c *Ctx)         { ttlGeneric(c, false, false) }
func cmdPTTL(c *Ctx)        { ttlGeneric(c, true, false) }
func cmdExpireTime(c *Ctx)  { ttlGeneric(c, false, true) }
func cmdPExpireTime(c *Ctx) { ttlGeneric(c, true, true) }

// ttlGeneric is Redis's ttlGenericCommand: -2 for a missing key, -1 for no
// expiry, else the remaining (or absolute) time; seconds are rounded to
// the nearest, as Redis does.
func ttlGeneric(c *Ctx, ms, abs bool) {
	e := c.LookupNoTouch(c.Args[1])
	if e == nil {
		c.Out.Int(-2)
		return
	}
	if e.Expire == 0 {
		c.Out.Int(-1)
		return
	}
	ttl := e.Expire
	if !abs {
		ttl -= c.Now
	}
	if ttl < 0 {
		ttl = 0
	}
	if !ms {
		ttl = (ttl + 500) / 1000
	}
	c.Out.Int(ttl)
}

// cmdPersist removes the expiry of a key.
func cmdPersist(c *Ctx) {
	key := c.Args[1]
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if e == nil || e.Expire == 0 {
		c.Out.Int(0)
		return
	}
	sh.SetExpire(c.DB, e, 0)
	c.Effect(c.Args...)
	c.ModifiedNotify(NotifyGeneric, "persist", key)
	c.Out.Int(1)
}
