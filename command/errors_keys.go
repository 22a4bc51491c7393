package command

// Reply error strings of the generic keyspace commands, exactly as
// redis-server 7.0 sends them.
const (
	ErrExpireNXCompat  = "ERR NX and XX, GT or LT options at the same time are not compatible"
	ErrExpireGTLT      = "ERR GT and LT options at the same time are not compatible"
	ErrInvalidCursor   = "ERR invalid cursor"
	ErrFirstDBIndex    = "ERR invalid first DB index"
	ErrSecondDBIndex   = "ERR invalid second DB index"
	ErrIntOutOfRange   = "ERR value is out of range, value must between -2147483648 and 2147483647"
	ErrLFUNotSelected  = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errUnsupportedOpt  = "ERR Unsupported option "
	errUnknownSubcmdPf = "ERR unknown subcommand '"
)
