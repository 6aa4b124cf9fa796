package chunker

// cutPoint returns the length of the block at the start of src, which holds
// all remaining data if it is shorter than p.Max.
func cutPoint(src []byte, p Params, maskS, maskL uint64) int {
	n := len(src)
	if n <= p.Min {
		return n
	}
	n = min(n, p.Max)
	avg := min(p.Avg, n)
	fp, i := roll(src[p.Min:avg], 0, maskS)
	if i >= 0 {
		return p.Min + i
	}
	if _, i = roll(src[avg:n], fp, maskL); i >= 0 {
		return avg + i
	}
	return n
}

// roll runs the Gear hash over b starting from fp and returns the length of
// the prefix of b that ends at the first byte leaving fp&mask == 0, or -1 and
// the final fp if there is none.
//
// It rolls two bytes per step: with x = fp<<2, the fingerprint after the first
// byte, shifted left by one, is x+gLS[b0], and the one after the second byte
// is x+gLS[b0]+g[b1]. Testing the first against mask<<1 is the same as testing
// the unshifted value against mask because mask leaves bit 63 clear. Summing
// the two table values off the fingerprint's dependency chain keeps the chain
// at two operations per two bytes.
func roll(b []byte, fp, mask uint64) (uint64, int) {
	g, gLS := &gear.g, &gear.gLS
	maskLS := mask << 1
	n := len(b)
	for len(b) >= 2 {
		b0, b1 := b[0], b[1]
		b = b[2:]
		x := fp << 2
		fp = x + (gLS[b0] + g[b1])
		if (x+gLS[b0])&maskLS == 0 {
			return fp, n - len(b) - 1
		}
		if fp&mask == 0 {
			return fp, n - len(b)
		}
	}
	if len(b) == 1 {
		fp = fp<<1 + g[b[0]]
		if fp&mask == 0 {
			return fp, n
		}
	}
	return fp, -1
}
