package server

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// DEBUG DIGEST and DEBUG DIGEST-VALUE, as Redis 7.0's debug.c computes
// them, so that the digests of a Basalt and a redis-server holding the same
// data are equal (the test suite's way of comparing whole datasets).
//
// A digest is 20 bytes. xorDigest xors SHA1(data) into it: order does not
// matter, so it "adds" unordered elements (set members, hash fields, keys).
// mixDigest xors SHA1(data) in and then replaces the digest by its own
// SHA1: order matters (list elements, a key and then its value).

// digest is one SHA1-sized accumulator. It is a value type owned by the
// goroutine computing it.
type digest [sha1.Size]byte

// xor is Redis's xorDigest.
func (d *digest) xor(b []byte) {
	h := sha1.Sum(b)
	for i := range d {
		d[i] ^= h[i]
	}
}

// mix is Redis's mixDigest.
func (d *digest) mix(b []byte) {
	d.xor(b)
	*d = sha1.Sum(d[:])
}

// hex renders d as DEBUG replies it: 40 lower-case hex digits.
func (d *digest) hex() string { return hex.EncodeToString(d[:]) }

// redisType is Redis's OBJ_* type code of a kind (OBJ_STRING 0 ... OBJ_HASH
// 4), which the digest mixes in as a big-endian uint32.
func redisType(k keyspace.Kind) uint32 {
	switch k {
	case keyspace.KindList:
		return 1
	case keyspace.KindSet:
		return 2
	case keyspace.KindZSet:
		return 3
	case keyspace.KindHash:
		return 4
	case keyspace.KindStream:
		return 6 // OBJ_STREAM (5 is OBJ_MODULE)
	}
	return 0
}

// valueDigest is Redis's xorObjectDigest: it mixes e's type and value into
// d, and xors in "!!expire!!" when e has an expiry (the time itself is left
// out, so two servers loaded at different moments still agree).
func valueDigest(d *digest, e *keyspace.Entry) {
	t := redisType(e.Kind)
	d.mix([]byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)})
	switch o := e.Obj.(type) {
	case nil:
		// Strings: an integer-encoded value digests as its decimal text,
		// which is what e.Str holds.
		d.mix(e.Str)
	case *lists.List:
		o.Each(false, func(_ int, v []byte) bool {
			d.mix(v)
			return true
		})
	case *sets.Set:
		// Intset members come as their decimal text, as Redis's
		// setTypeNextObject gives them.
		o.ForEach(func(m []byte) bool {
			d.xor(m)
			return true
		})
	case *zsets.ZSet:
		var buf [32]byte
		o.ForEach(func(m []byte, score float64) bool {
			var ed digest
			ed.mix(m)
			// The score as "%.17g" (Redis 7.0; 7.2 switched to
			// fpconv_dtoa's shortest form).
			ed.mix(resp.AppendDouble(buf[:0], score))
			d.xor(ed[:])
			return true
		})
	case *hashes.Hash:
		o.ForEach(func(f, v []byte) bool {
			var ed digest
			ed.mix(f)
			ed.mix(v)
			d.xor(ed[:])
			return true
		})
	case *streams.Stream:
		// Entries only, in order: "ms.seq", then each field and value,
		// all mixed straight into d; consumer groups are left out, as in
		// Redis 7.0.
		var buf [48]byte
		it := o.Iter(streams.ID{}, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, false)
		for {
			id, nf, ok := it.Next()
			if !ok {
				break
			}
			b := strconv.AppendUint(buf[:0], id.Ms, 10)
			b = append(b, '.')
			d.mix(strconv.AppendUint(b, id.Seq, 10))
			for i := 0; i < nf; i++ {
				f, v := it.Field()
				d.mix(f)
				d.mix(v)
			}
		}
	default:
		panic("server: DEBUG DIGEST of an unknown value type")
	}
	if e.Expire != 0 {
		d.xor([]byte("!!expire!!"))
	}
}

// datasetDigest is Redis's computeDatasetDigest over every shard: for each
// non-empty database in order, the database number is mixed into the
// result (so the same data in another db digests differently), then each
// key's digest (key mixed, then its value) is xored in (as SHA1 of it,
// xorDigest's way). Like Redis it reads
// the dictionaries directly, so logically expired keys not yet removed
// count. An empty dataset digests to 20 zero bytes.
//
// It runs on the transaction executor with every loop parked (DEBUG DIGEST
// is ScopeAll), so it may read all shards.
func datasetDigest(shards []*keyspace.Shard) digest {
	var final digest
	if len(shards) == 0 {
		return final
	}
	for db := 0; db < shards[0].Databases(); db++ {
		n := 0
		for _, sh := range shards {
			n += sh.Len(db)
		}
		if n == 0 {
			continue
		}
		final.mix([]byte{byte(db >> 24), byte(db >> 16), byte(db >> 8), byte(db)})
		for _, sh := range shards {
			sh.ForEach(db, func(e *keyspace.Entry) bool {
				var kd digest
				kd.mix(e.Key)
				valueDigest(&kd, e)
				final.xor(kd[:])
				return true
			})
		}
	}
	return final
}

// debugScope routes DEBUG: DIGEST reads every shard (ScopeAll); the other
// subcommands run where their keys are (DEBUG OBJECT, DIGEST-VALUE) or,
// with no key, on the client's own loop.
func debugScope(args [][]byte) command.Scope {
	if len(args) == 2 && (datatypes.EqualFoldC(args[1], "digest") || datatypes.EqualFoldC(args[1], "reload")) {
		return command.ScopeAll
	}
	return command.ScopeKeys
}

// debugDigest is DEBUG DIGEST.
func debugDigest(c *command.Ctx) {
	d := datasetDigest(c.Shards)
	c.Out.SimpleString(d.hex())
}

// debugDigestValue is DEBUG DIGEST-VALUE key [key ...]: one status reply
// per key with its value's digest (the key itself is not mixed in), 40
// zeros for a missing key. As Redis, a logically expired key that is still
// stored is digested, and nothing is expired or touched.
func debugDigestValue(c *command.Ctx) {
	c.Out.ArrayLen(len(c.Args) - 2)
	for _, key := range c.Args[2:] {
		var d digest
		// now 0: no entry counts as expired, so none is deleted.
		if e := c.Shard(key).LookupNoTouch(c.DB, key, 0); e != nil {
			valueDigest(&d, e)
		}
		c.Out.SimpleString(d.hex())
	}
}
