package command

// Builtin returns a table with every keyspace command. The server adds the
// connection and administration commands (ScopeConn/ScopeAll) to it.
func Builtin() *Table {
	t := NewTable()
	t.Add(stringSpecs()...)
	t.Add(bitmapSpecs()...)
	t.Add(keySpecs()...)
	t.Add(hashSpecs()...)
	t.Add(listSpecs()...)
	t.Add(setSpecs()...)
	t.Add(zsetSpecs()...)
	t.Add(hllSpecs()...)
	t.Add(geoSpecs()...)
	t.Add(sortSpecs()...)
	t.Add(dumpSpecs()...)
	t.Add(streamSpecs()...)
	return t
}
