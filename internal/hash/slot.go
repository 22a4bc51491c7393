// Package hash holds the key hashing used across Basalt: the Redis Cluster
// slot function (CRC16/XMODEM of the key or its hash tag, mod 16384) and the
// seeded 64-bit dictionary hash (xxHash64). Several implementations of each
// exist; the fastest one this CPU supports is chosen once, lazily, and all of
// them give identical results (the tests prove it).
//
// Everything here is safe for concurrent use: the only state is the
// implementation choice, computed once and never changed.
package hash

// SlotCount is the number of hash slots, as in Redis Cluster.
const SlotCount = 16384

// Slot returns the hash slot of key: CRC16 of the hash tag ({...}) if the
// key has a non-empty one, else of the whole key, modulo 16384. This is
// Redis Cluster's keyHashSlot: only the first '{' counts, and the tag ends
// at the first '}' after it.
func Slot(key []byte) uint16 {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j > i+1 {
						key = key[i+1 : j]
					}
					return CRC16(key) & (SlotCount - 1)
				}
			}
			break
		}
	}
	return CRC16(key) & (SlotCount - 1)
}

// CRC16 is CRC16/XMODEM (poly 0x1021, init 0, not reflected), the variant
// Redis Cluster uses, computed by the implementation chosen for this CPU.
func CRC16(b []byte) uint16 { return chosen().crc16(b) }
