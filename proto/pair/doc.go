// Package pair pairs two ferry devices with a short code, so that each
// learns the other's device ID and addresses without copying a 56-character
// ID by hand.
//
// Device A, the offerer, shows a code such as "7-harp-tulip-violin"; device
// B, the joiner, types it. The number (1-999, random, sent in clear) names
// one open offer of A; the three words (one of 256 each: 24 bits, never
// sent) are the secret. A wrong guess teaches an attacker nothing offline,
// and A retires an offer after one wrong guess, so an online attacker gets
// one guess in 16.7 million per code shown. Only a guess retires it: an
// opening with the right number proves nothing, so one that breaks off or
// sends garbage before its proof of the code leaves the offer open.
//
// # Protocol
//
// B connects to A (how it finds A is not this package's business) and they
// exchange frames, each a kind byte, a 2-byte big-endian body length and the
// body; no body exceeds 65,535 bytes and each kind has its own limits,
// checked before the body is read. The conversation strictly alternates:
//
//	B -> A  hello      "ferry-pair", version 1, offer number (4 bytes),
//	                   CPace message A (48 bytes)
//	A: Find(number) - the caller looks the offer up; it stays open. No offer:
//	A -> B  reject     "no such offer" (or "busy"); both report ErrNoOffer
//	                   (ErrBusy).
//	A -> B  cpace      CPace message B (32 bytes)
//	B -> A  handshake  Noise message 1: e                (48 bytes)
//	A -> B  handshake  Noise message 2: e, ee, s, es     (96 bytes)
//	B -> A  handshake  Noise message 3: s, se, psk       (64 bytes): the proof
//	A: Claim(number) - the caller reserves the offer for this one check.
//	   Refused: A -> B reject "no such offer" or "busy", the proof unchecked.
//	A: message 3 fails -> A -> B reject "wrong code"; both report ErrWrongCode,
//	   and the caller retires the offer.
//	A -> B  sealed     A's Intro: name, addresses, folders offered
//	B: choose(A's Intro) returns B's Intro, or an error:
//	B -> A  sealed     B's Intro (folders: the accepted subset), or an abort
//	A: checks the accepted folders are a subset of the offered ones, or aborts
//	A -> B  sealed     done: A has accepted the pairing
//
// CPace (filippo.io/cpace, over ristretto255) runs with the code's string
// form as its password. Its context binds the roles ("ferry-joiner" starts,
// "ferry-offerer" answers; the static keys are not known yet) and, as
// associated data, "ferry-pair/1" and the offer number. CPace never fails on
// a wrong password: the two sides just get different keys. So the CPace key,
// expanded with HKDF-SHA256, becomes the preshared key of a Noise handshake,
// Noise_XXpsk3_25519_AESGCM_SHA256, whose prologue is "ferry-pair/1", the
// offer number and both CPace messages: the whole clear-text transcript is
// bound to the resulting keys. B is the Noise initiator, A the responder;
// their static keys are their device keys (proto/noise.Keypair).
//
// The preshared key enters at the end of message 3, so message 3 is the
// first message that depends on the code, and A is the first to learn
// whether the codes match: with different codes message 3 fails to
// decrypt. So message 3 is B's proof of the code, and checking it is the
// one guess an offer allows. Nothing before it depends on the code (CPace
// gives no error on a wrong one), and a failure there - garbage, another
// message, a broken CPace element or Noise message 1, a timeout - is no
// guess: the offer stays open. A checks a proof only after the caller's
// Claim, which lets one attempt at a time hold an offer, so concurrent
// joiners cannot get a guess each. A cannot tell a wrong code from a
// message 3 altered on the way, and does not need to: either way B proved
// nothing, and a joiner that can produce message 3 could as well have sent
// a wrong code.
//
// A waits at most ProofTimeout for the proof, so a joiner that stalls holds
// nothing for long; the caller bounds how many attempts run at once and
// how often they start, and refuses the rest with a "busy" reject (Refuse),
// which B may retry. A answers with a
// clear-text reject frame, so that B reports ErrWrongCode rather than a
// vague end of file. An attacker could forge or drop that frame, which only
// makes the pairing fail; since an honest A hangs up right after message 3
// only in this case, B also reports ErrWrongCode when the connection closes
// there without an answer.
//
// After message 3 each side holds transport keys that depend on the code
// and on both static keys: A's first sealed message decrypting proves to B
// that A knew the code and holds the static key B saw, and B's Intro
// decrypting proves the same to A. A wrong code can therefore never end in
// a pairing with a silently different key. Sealed frames carry one Noise
// transport message each, holding a protobuf PairMessage (proto/pb,
// pair.proto): an Intro, done, or abort with a reason for the user.
// Everything decoded is validated (lengths, counts, UTF-8, no control
// characters; see Intro).
//
// Intros are exchanged inside the channel, A's first, so that B's choice
// of folders is made knowing the peer is authentic. The last message, done,
// gives both sides the same view: Serve returns after sending it, Join
// after receiving it. If done is lost, A has paired and B has not; B then
// reports an error and its user pairs again, while A merely trusts a device
// that did know the code.
//
// Any message that breaks the protocol ends the pairing; the side that
// noticed sends a reject frame (its peer is always waiting for the next
// message, as the conversation alternates) and both sides fail. Every read
// and write is bounded by the context's deadline, whose cancellation also
// interrupts them.
//
// # Randomness
//
// NewCode takes its random source as an argument. The handshake draws its
// ephemeral keys and CPace secrets from crypto/rand, as those libraries do.
package pair
