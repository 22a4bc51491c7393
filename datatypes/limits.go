package datatypes

// Limits are the thresholds that decide when an aggregate leaves its
// compact encoding (Redis's *-max-listpack-* directives) and when a
// HyperLogLog turns dense. A published Limits is immutable: CONFIG SET
// publishes a new Config, so a handler may read it without locking.
type Limits struct {
	HashMaxListpackEntries int64 // hash-max-listpack-entries
	HashMaxListpackValue   int64 // hash-max-listpack-value (bytes)
	SetMaxIntsetEntries    int64 // set-max-intset-entries
	ZSetMaxListpackEntries int64 // zset-max-listpack-entries
	ZSetMaxListpackValue   int64 // zset-max-listpack-value (bytes)
	// ListMaxListpackSize is list-max-listpack-size: > 0 caps the entries
	// of a listpack node, -1..-5 caps its bytes at 4, 8, 16, 32, 64 KiB.
	ListMaxListpackSize int64
	HLLSparseMaxBytes   int64 // hll-sparse-max-bytes
	// StreamNodeMaxBytes and StreamNodeMaxEntries cap a stream's listpack
	// node (stream-node-max-bytes, stream-node-max-entries); 0 is no cap.
	StreamNodeMaxBytes   int64
	StreamNodeMaxEntries int64
}

// DefaultLimits are redis-server 7.0's defaults.
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
		HLLSparseMaxBytes:      3000,
		StreamNodeMaxBytes:     4096,
		StreamNodeMaxEntries:   100,
	}
}
