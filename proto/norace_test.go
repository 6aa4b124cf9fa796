//go:build !race

package proto

// boundsFrame is the size of the records TestDecodeMemoryBounded decodes.
const boundsFrame = MaxIndexUpdateSize
