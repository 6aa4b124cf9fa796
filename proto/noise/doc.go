// Package noise secures a connection between two ferry devices with the
// Noise protocol Noise_XX_25519_AESGCM_SHA256 and presents the result as a
// net.Conn.
//
// # Identity
//
// A device's identity is a static Curve25519 key pair (Keypair). Its public
// key is its device ID (proto.DeviceID). The XX pattern sends both static
// keys, encrypted, so after the handshake each side knows which device it
// talks to (Conn.RemoteStatic) and that the peer holds the private key. The
// handshake does not decide trust: the caller compares RemoteStatic with its
// list of trusted devices and closes the connection if the key is not there.
//
// # Handshake
//
// Both sides mix a prologue into the handshake hash, by default Prologue
// ("ferry/1"), binding the protocol name and version: peers with a different
// prologue fail the handshake. Then three messages, each sent as a 2-byte
// big-endian length followed by the message:
//
//	-> e                  initiator (Client): ephemeral key, 32 bytes
//	<- e, ee, s, es       responder (Server): ephemeral key, encrypted static
//	                      key and an empty encrypted payload, 96 bytes
//	-> s, se              initiator: encrypted static key and an empty
//	                      encrypted payload, 64 bytes
//
// ferry sends no handshake payloads, so each message has exactly the length
// shown; any other length ends the handshake at once. Changing a single byte
// of any message makes the handshake fail on at least one side. The context
// given to Client and Server bounds the whole handshake.
//
// # Transport
//
// After the handshake each direction has its own AES-256-GCM key. The
// stream written with Conn.Write is cut into transport messages of at most
// 65,519 bytes of plaintext; each travels as a 2-byte big-endian length
// followed by the ciphertext and its 16-byte tag (at most 65,535 bytes, the
// Noise limit). The nonce is a counter per direction, so a message that is
// dropped, replayed, reordered or altered fails to decrypt; Read then
// returns an error wrapping ErrDecrypt and the connection is closed.
package noise
