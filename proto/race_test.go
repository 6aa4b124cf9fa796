//go:build race

package proto

// boundsFrame is the size of the records TestDecodeMemoryBounded decodes:
// the race detector makes each copy of a max-size record slow, and the
// ratio it checks does not depend on the size.
const boundsFrame = MaxIndexUpdateSize / 4
