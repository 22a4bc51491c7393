package meta

// Redis 7.0's getkeys_proc functions for the commands whose key specs can
// be invalid or incomplete (numkeys given by an argument, SORT's STORE):
// COMMAND GETKEYS falls back to them, as getKeysFromCommandWithSpecs does.

// getKeysProcs maps a command name to its getkeys_proc.
func getKeysProcs() map[string]func(args [][]byte, dst []int) []int {
	generic := func(storeOfs, countOfs, firstOfs int) func([][]byte, []int) []int {
		return func(args [][]byte, dst []int) []int {
			return GenericGetKeys(storeOfs, countOfs, firstOfs, 1, args, dst)
		}
	}
	return map[string]func([][]byte, []int) []int{
		"zunion": generic(0, 1, 2), "zinter": generic(0, 1, 2), "zdiff": generic(0, 1, 2),
		"zunionstore": generic(1, 2, 3), "zinterstore": generic(1, 2, 3), "zdiffstore": generic(1, 2, 3),
		"lmpop": generic(0, 1, 2), "blmpop": generic(0, 2, 3),
		"zmpop": generic(0, 1, 2), "bzmpop": generic(0, 2, 3),
		"sintercard": generic(0, 1, 2), "zintercard": generic(0, 1, 2),
		// evalGetKeys and functionGetKeys: numkeys at 2, keys from 3.
		"eval": generic(0, 2, 3), "evalsha": generic(0, 2, 3), "eval_ro": generic(0, 2, 3), "evalsha_ro": generic(0, 2, 3),
		"fcall": generic(0, 2, 3), "fcall_ro": generic(0, 2, 3),
		"sort":    SortGetKeys,
		"sort_ro": func(_ [][]byte, dst []int) []int { return append(dst, 1) },
	}
}

// GenericGetKeys is Redis's genericGetKeys: the key count is atoi of
// args[countOfs]; keys start at firstOfs every step; a store key, when
// storeOfs > 0, comes last. A count that is not positive or exceeds the
// arguments gives no keys.
func GenericGetKeys(storeOfs, countOfs, firstOfs, step int, args [][]byte, dst []int) []int {
	if countOfs >= len(args) {
		return dst
	}
	num := atoi(args[countOfs])
	if num < 1 || num > (len(args)-firstOfs)/step {
		return dst
	}
	for i := 0; i < num; i++ {
		dst = append(dst, firstOfs+i*step)
	}
	if storeOfs > 0 {
		dst = append(dst, storeOfs)
	}
	return dst
}

// SortGetKeys is Redis's sortGetKeys: the sorted key, then the key after
// the last STORE, skipping the arguments of LIMIT, GET and BY (a STORE's
// own argument is examined as an option name next, as in Redis).
func SortGetKeys(args [][]byte, dst []int) []int {
	dst = append(dst, 1)
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], []byte("limit")):
			i += 2
		case equalFold(args[i], []byte("get")), equalFold(args[i], []byte("by")):
			i++
		case equalFold(args[i], []byte("store")) && i+1 < len(args):
			store = i + 1
		}
	}
	if store > 0 {
		dst = append(dst, store)
	}
	return dst
}

// atoi is C's atoi on a Redis string: leading blanks, an optional sign,
// then digits up to the first non-digit; the result truncated to a C int.
func atoi(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int64(b[i]-'0')
		}
	}
	if neg {
		n = -n
	}
	return int(int32(n))
}
