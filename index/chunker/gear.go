package chunker

// gearSeed seeds the gear table. Changing it changes every block boundary.
const gearSeed = 0x6665727279636463 // "ferrycdc"

// gearTable holds the Gear hash's byte values and the same values shifted left
// by one, used when rolling two bytes per step.
type gearTable struct {
	g   [256]uint64
	gLS [256]uint64
}

// gear is computed once at initialisation and only read afterwards.
var gear = newGearTable(gearSeed)

func newGearTable(seed uint64) *gearTable {
	t := new(gearTable)
	state := seed
	for i := range t.g {
		state, t.g[i] = splitmix64(state)
		t.gLS[i] = t.g[i] << 1
	}
	return t
}

// splitmix64 returns the next state and output of the SplitMix64 generator.
func splitmix64(state uint64) (next, out uint64) {
	next = state + 0x9e3779b97f4a7c15
	z := next
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return next, z ^ z>>31
}
