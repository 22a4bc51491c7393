package command

// geoSpecs returns the specs of the geo commands.
func geoSpecs() []*Spec {
	return nil
}
