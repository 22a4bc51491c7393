package command

// hllSpecs returns the specs of the hll commands.
func hllSpecs() []*Spec {
	return nil
}
