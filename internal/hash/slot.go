// Package hash holds the key hashing used across Basalt: the Redis Cluster
// slot function (CRC16/XMODEM of the key or its hash tag, mod 16384).
package hash

// SlotCount is the number of hash slots, as in Redis Cluster.
const SlotCount = 16384

// Slot returns the hash slot of key: CRC16 of the hash tag ({...}) if the
// key has a non-empty one, else of the whole key, modulo 16384.
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

// CRC16 is CRC16/XMODEM (poly 0x1021, init 0), the variant Redis Cluster uses.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

var crc16Table = func() (t [256]uint16) {
	for i := 0; i < 256; i++ {
		crc := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return
}()
