package command

// zsetSpecs returns the specs of the zset commands.
func zsetSpecs() []*Spec {
	return nil
}
