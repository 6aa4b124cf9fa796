// Package dht finds trusted devices on the internet through the BitTorrent
// Mainline DHT, an existing network of millions of nodes, with no server of
// ours.
//
// # Rendezvous keys
//
// A device announces its sync port under a 20-byte infohash that only a
// device that already knows its device ID can compute:
//
//	Key(id, w) = BLAKE3("ferry dht v1" || id || w as 8 big-endian bytes)[:20]
//	w          = Unix time / 3600 (the key changes every hour)
//
// Announcing is a get_peers traversal toward the key followed by
// announce_peer (implied_port off) of the sync port at the closest nodes
// that answered with a token. Looking up a device is a get_peers traversal
// toward its key of the current window and, to tolerate clock skew and the
// announce interval, of the previous one.
//
// # What an observer learns
//
// DHT nodes see an infohash, a port and the source IP of the announcer,
// like for any torrent. Without the device ID the key is a pseudorandom
// value: an observer cannot tell which device announced it, and cannot
// link the announcements of one device across windows (the key of the next
// hour is unrelated to this one). The announcing IP can still be linked by
// other means (it announces from the same address each hour). Whoever
// knows the device ID — every device it trusts, and anyone they told —
// can compute the keys and learns the announced IP:port and when the
// device was online, which is what a device it lets connect learns anyway.
// Found addresses are hints only: the Noise handshake proves who answers
// there, so a node that returns false addresses can waste a dial, not
// impersonate a device.
//
// # Pairing offers
//
// A device showing a pairing code such as "7-harp-tulip-violin" (see
// proto/pair) announces its sync port under
//
//	PairKey(n, w) = BLAKE3("ferry pair v1" || n as 4 big-endian bytes || w as 8 big-endian bytes)[:20]
//
// where n is the code's offer number, and the joining device looks that
// key up. The key depends on the number alone, which the code shows in
// clear and which travels in clear in the pairing hello anyway; the three
// words, the secret, never enter anything the DHT sees. So watching the
// DHT lets nobody test guesses of the words offline: the only test of a
// guess is a pairing attempt against the offering device, which retires
// the offer after one wrong proof, as on a LAN.
//
// Strangers pairing in the same hour may pick the same number (one in 999
// for two offers), and a lookup then finds all of them. Collisions survive:
// the joiner tries every address found. A device with no offer of that
// number answers "no such offer", which costs nothing; a stranger's offer
// with the number fails the joiner's proof of its words, so the joiner goes
// on to the next address and reaches the right offer. The stranger's
// offer is retired by that wrong proof, as after any wrong guess: the
// stranger's device says so and shows a new code. A joiner stops after
// three wrong proofs, so a mistyped code burns few offers.
//
// # Bounds
//
//   - A Lookup returns at most MaxAddrsPerDevice (32) addresses, without
//     duplicates, at most MaxAddrsPerNode (4) of them from any one node
//     that answers, so a node listing thousands cannot crowd out the
//     others; invalid addresses (port 0, unspecified, multicast,
//     broadcast) are dropped, and with Config.PublicOnly so are loopback,
//     private and link-local ones.
//   - At most MaxConcurrent (4) traversals (lookups and announces) run at
//     once; each stops after 30 s at the latest.
//   - Sends are limited to 50 packets a second per node (burst 50).
//   - Datagrams that are not bencoded dictionaries are dropped before
//     decoding; the DHT library bounds its routing table (k = 8 per bucket)
//     and its transactions.
//   - As every DHT node, we store peers others announce to us: at most 4096
//     keys, 16 peers a key, each for 2 hours.
//   - The routing table saved by Close holds at most MaxSavedNodes (256)
//     nodes (38 bytes each); New reads no more than that.
//
// Run announces every Config.Interval (15 minutes by default) and at each
// window change, and looks up every trusted device in the same rounds.
package dht
