// Package chunker cuts a byte stream into content-defined blocks and hashes
// them with BLAKE3-256.
//
// # Chunking
//
// Boundaries are found with FastCDC (Xia et al., "FastCDC: a Fast and
// Efficient Content-Defined Chunking Approach for Data Deduplication", USENIX
// ATC 2016): a Gear rolling hash
//
//	fp = fp<<1 + gear[b]
//
// is updated for every byte, and a block ends after the first byte for which
// fp&mask == 0. Because the shift pushes old bytes out of the top bits, the
// masked bits depend only on the last 64 bytes, so a boundary is a property of
// local content: inserting or deleting bytes changes the one or two blocks
// around the edit, and the boundaries after it line up again.
//
// Three refinements of the paper are used:
//
//   - Cut-point skipping: no boundary is searched in the first Min bytes of a
//     block (the hash starts from zero at Min).
//   - Normalized chunking, level 2: before Avg the mask has log2(Avg)+2 bits
//     (a cut is 4 times less likely), from Avg on it has log2(Avg)-2 bits (4
//     times more likely). Block sizes cluster around Avg.
//   - A block never exceeds Max bytes.
//
// The masks are runs of high bits (never bit 63), which lets the hot loop
// roll two bytes per step with a pre-shifted copy of the table, as in the
// 2020 follow-up paper, while cutting at exactly the same places as the
// byte-by-byte definition above.
//
// The 256-entry gear table is derived at package initialisation from a fixed
// seed with splitmix64, so every build and every device cuts the same data at
// the same places. Changing the seed, the masks or the rules above changes
// every block hash ever computed: treat them as part of the file format.
package chunker
