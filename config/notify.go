package config

import (
	"strconv"
	"strings"
)

// Keyspace notification classes as notify-keyspace-events stores them.
// The bits are those of command.NotifyClass (config does not import
// command; loop's tests check that the two agree).
const (
	NotifyKeyspace uint16 = 1 << iota // K
	NotifyKeyevent                    // E
	NotifyGeneric                     // g
	NotifyString                      // $
	NotifyList                        // l
	NotifySet                         // s
	NotifyHash                        // h
	NotifyZset                        // z
	NotifyExpired                     // x
	NotifyEvicted                     // e
	NotifyStream                      // t
	NotifyKeyMiss                     // m
	NotifyLoaded                      // modules only
	NotifyModule                      // d
	NotifyNew                         // n
)

// NotifyAll is what 'A' stands for: g$lshzxetd (not m, not n).
const NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash |
	NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule

// ParseNotifyKeyspaceEvents is Redis's keyspaceEventsStringToFlags: ok is
// false at the first character that names no class.
func ParseNotifyKeyspaceEvents(s string) (flags uint16, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			flags |= NotifyAll
		case 'g':
			flags |= NotifyGeneric
		case '$':
			flags |= NotifyString
		case 'l':
			flags |= NotifyList
		case 's':
			flags |= NotifySet
		case 'h':
			flags |= NotifyHash
		case 'z':
			flags |= NotifyZset
		case 'x':
			flags |= NotifyExpired
		case 'e':
			flags |= NotifyEvicted
		case 'K':
			flags |= NotifyKeyspace
		case 'E':
			flags |= NotifyKeyevent
		case 't':
			flags |= NotifyStream
		case 'm':
			flags |= NotifyKeyMiss
		case 'd':
			flags |= NotifyModule
		case 'n':
			flags |= NotifyNew
		default:
			return 0, false
		}
	}
	return flags, true
}

// NotifyKeyspaceEventsString is Redis's keyspaceEventsFlagsToString: 'A'
// when every class of A is set (then 'n' is not shown, as in Redis), else
// the class letters in Redis's order; then K, E and m.
func NotifyKeyspaceEventsString(flags uint16) string {
	var b []byte
	if flags&NotifyAll == NotifyAll {
		b = append(b, 'A')
	} else {
		for _, l := range [...]struct {
			bit uint16
			c   byte
		}{{NotifyGeneric, 'g'}, {NotifyString, '$'}, {NotifyList, 'l'}, {NotifySet, 's'}, {NotifyHash, 'h'},
			{NotifyZset, 'z'}, {NotifyExpired, 'x'}, {NotifyEvicted, 'e'}, {NotifyStream, 't'},
			{NotifyModule, 'd'}, {NotifyNew, 'n'}} {
			if flags&l.bit != 0 {
				b = append(b, l.c)
			}
		}
	}
	if flags&NotifyKeyspace != 0 {
		b = append(b, 'K')
	}
	if flags&NotifyKeyevent != 0 {
		b = append(b, 'E')
	}
	if flags&NotifyKeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

func setNotifyKeyspaceEvents(c *Config, args []string, _ *loader) string {
	f, ok := ParseNotifyKeyspaceEvents(args[0])
	if !ok {
		return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
	}
	c.NotifyKeyspaceEvents = f
	return ""
}

// Client classes of client-output-buffer-limit, in the order CONFIG GET
// lists them (Redis's CLIENT_TYPE_NORMAL, _SLAVE, _PUBSUB).
const (
	ClientNormal = iota
	ClientReplica
	ClientPubsub
	clientClasses
)

var clientClassNames = [clientClasses]string{"normal", "slave", "pubsub"}

// OBufLimit is one class's client-output-buffer-limit: a client holding
// Hard bytes or more of output is closed at once; one holding Soft bytes
// or more for longer than SoftSeconds is closed too. 0 disables a limit.
type OBufLimit struct {
	Hard, Soft  uint64
	SoftSeconds int64
}

// defaultOBufLimits are Redis 7.0's: normal 0 0 0, slave 256mb 64mb 60,
// pubsub 32mb 8mb 60.
func defaultOBufLimits() [3]OBufLimit {
	return [3]OBufLimit{
		ClientNormal:  {},
		ClientReplica: {Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60},
		ClientPubsub:  {Hard: 32 << 20, Soft: 8 << 20, SoftSeconds: 60},
	}
}

// setClientOutputBufferLimit is Redis's updateClientOutputBufferLimit:
// groups of <class> <hard> <soft> <soft-seconds>, all checked before any
// is applied; classes not named keep their limits.
func setClientOutputBufferLimit(c *Config, args []string, _ *loader) string {
	if len(args)%4 != 0 {
		return "Wrong number of arguments in buffer limit configuration."
	}
	next := c.ClientOutputBufferLimits
	for j := 0; j < len(args); j += 4 {
		class := -1
		switch strings.ToLower(args[j]) {
		case "normal":
			class = ClientNormal
		case "slave", "replica":
			class = ClientReplica
		case "pubsub":
			class = ClientPubsub
		}
		if class < 0 { // "master" is a class Redis refuses here too
			return "Invalid client class specified in buffer limit configuration."
		}
		hard, ok1 := memtoull(args[j+1])
		soft, ok2 := memtoull(args[j+2])
		secs, ok3 := strtoll(args[j+3])
		// soft_seconds is a C int in Redis: strtoll's result is truncated.
		secs32 := int32(secs)
		// Like Redis, strtoll takes leading blanks, a sign, and "" as 0;
		// only trailing junk and a negative value are refused.
		if !ok1 || !ok2 || !ok3 || secs32 < 0 {
			return "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		}
		next[class] = OBufLimit{Hard: hard, Soft: soft, SoftSeconds: int64(secs32)}
	}
	c.ClientOutputBufferLimits = next
	return ""
}

func getClientOutputBufferLimit(c *Config) string {
	var b []byte
	for i, l := range c.ClientOutputBufferLimits {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, clientClassNames[i]...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, l.Hard, 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, l.Soft, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, l.SoftSeconds, 10)
	}
	return string(b)
}
