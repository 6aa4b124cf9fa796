package pair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/proto/noise"
)

func testKey(t testing.TB, seed byte) noise.Keypair {
	t.Helper()
	k, err := noise.GenerateKeypair(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCode(t testing.TB, s string) Code {
	t.Helper()
	c, err := ParseCode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// maxIntro is the largest Intro Validate allows.
func maxIntro() Intro {
	in := Intro{Name: strings.Repeat("n", MaxNameLen)}
	for i := range MaxAddrs {
		in.Addrs = append(in.Addrs, fmt.Sprintf("%s:%d", strings.Repeat("h", MaxAddrLen-6), 10000+i))
	}
	for i := range MaxFolders {
		id := fmt.Sprintf("%03d%s", i, strings.Repeat("i", MaxFolderIDLen-3))
		in.Folders = append(in.Folders, Folder{ID: id, Label: strings.Repeat("l", MaxLabelLen)})
	}
	return in
}

// TestMaxIntroFits: the limits keep every valid Intro within one frame.
func TestMaxIntroFits(t *testing.T) {
	in := maxIntro()
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := encodeMessage(introMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxPlaintext {
		t.Fatalf("largest intro encodes to %d bytes, more than %d", len(b), maxPlaintext)
	}
	m, err := decodeMessage(b)
	if err != nil || !reflect.DeepEqual(m.intro, in) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestRejectReasons(t *testing.T) {
	tests := []struct {
		r    rejectReason
		want error
	}{
		{rejectNoOffer, ErrNoOffer},
		{rejectWrongCode, ErrWrongCode},
		{rejectVersion, errRejected},
		{rejectMalformed, errRejected},
		{99, errRejected},
	}
	for _, tt := range tests {
		if err := tt.r.err(); !errors.Is(err, tt.want) {
			t.Errorf("reason %d: %v, want %v", tt.r, err, tt.want)
		}
	}
	if reasonFor(fmt.Errorf("x: %w", errVersion)) != rejectVersion || reasonFor(errMalformed) != rejectMalformed {
		t.Error("reasonFor picks the wrong reason")
	}
}

func TestParseHello(t *testing.T) {
	msgA := bytes.Repeat([]byte{0xaa}, cpaceALen)
	good := hello{offer: 7, msgA: msgA}.encode()
	h, err := parseHello(good)
	if err != nil || h.offer != 7 || !bytes.Equal(h.msgA, msgA) {
		t.Fatalf("round trip: %+v, %v", h, err)
	}
	v2 := bytes.Clone(good)
	v2[len(magic)] = 2
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"other protocol", []byte("GET / HTTP/1.1\r\n"), errMalformed},
		{"other version", v2, errVersion},
		{"short", good[:len(good)-1], errMalformed},
		{"long", append(bytes.Clone(good), 0), errMalformed},
		{"offer 0", hello{offer: 0, msgA: msgA}.encode(), errMalformed},
		{"offer 1000", hello{offer: 1000, msgA: msgA}.encode(), errMalformed},
	}
	for _, tt := range tests {
		if _, err := parseHello(tt.body); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// rawServe runs Serve on one end of a pipe and gives the test the other.
func rawServe(t *testing.T, offers Offers) (peer net.Conn, result <-chan error) {
	t.Helper()
	peer, conn := net.Pipe()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		_, err := Serve(ctx, conn, testKey(t, 2), offers)
		done <- err
	}()
	t.Cleanup(func() { peer.Close() })
	return peer, done
}

// oneOffer is Offers holding one offer, found and claimed by anyone; it
// counts the claims.
type oneOffer struct {
	offer  Offer
	claims atomic.Int32
}

func (o *oneOffer) Find(uint32) (Offer, error) { return o.offer, nil }
func (o *oneOffer) Claim(uint32) error {
	o.claims.Add(1)
	return nil
}

// noOffers fails the test when Serve uses it.
type noOffers struct{ t *testing.T }

func (o noOffers) Find(n uint32) (Offer, error) {
	o.t.Errorf("Find(%d) called", n)
	return Offer{}, ErrNoOffer
}

func (o noOffers) Claim(n uint32) error {
	o.t.Errorf("Claim(%d) called", n)
	return ErrNoOffer
}

// TestServeOtherVersion: an opening of another version gets a reject frame
// saying so, before any offer is touched.
func TestServeOtherVersion(t *testing.T) {
	peer, done := rawServe(t, noOffers{t})
	body := hello{offer: 7, msgA: make([]byte, cpaceALen)}.encode()
	body[len(magic)] = 2
	if err := writeFrame(peer, kindHello, body); err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(peer)
	if err != nil || f.kind != kindReject || rejectReason(f.body[0]) != rejectVersion {
		t.Fatalf("got %+v, %v; want a version reject", f, err)
	}
	if err := <-done; !errors.Is(err, errVersion) {
		t.Fatalf("serve: %v, want errVersion", err)
	}
}

// TestServeNotPairing: bytes of another protocol end Serve at once.
func TestServeNotPairing(t *testing.T) {
	peer, done := rawServe(t, noOffers{t})
	go peer.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if err := <-done; !errors.Is(err, errMalformed) {
		t.Fatalf("serve: %v, want errMalformed", err)
	}
}

// TestServeMalformedCPace: an opening with an invalid CPace element is
// rejected as malformed after Find, and the offer is not claimed: the
// opening proved nothing.
func TestServeMalformedCPace(t *testing.T) {
	offers := &oneOffer{offer: Offer{Code: testCode(t, "7-harp-tulip-violin")}}
	peer, done := rawServe(t, offers)
	bad := hello{offer: 7, msgA: bytes.Repeat([]byte{0xff}, cpaceALen)}.encode()
	if err := writeFrame(peer, kindHello, bad); err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(peer)
	if err != nil || f.kind != kindReject || rejectReason(f.body[0]) != rejectMalformed {
		t.Fatalf("got %+v, %v; want a malformed reject", f, err)
	}
	if err := <-done; !errors.Is(err, errMalformed) || errors.Is(err, ErrWrongCode) {
		t.Fatalf("serve: %v", err)
	}
	if n := offers.claims.Load(); n != 0 {
		t.Fatalf("%d claims after a broken opening", n)
	}
}

// TestFindReturnsOtherOffer: a Find that answers with another offer's code
// is a caller bug; Serve fails rather than pair under the wrong number.
func TestFindReturnsOtherOffer(t *testing.T) {
	other := testCode(t, "8-harp-tulip-violin")
	jc, oc := net.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Serve(t.Context(), oc, testKey(t, 2), &oneOffer{offer: Offer{Code: other}})
		done <- err
	}()
	_, jerr := Join(t.Context(), jc, testKey(t, 1), testCode(t, "7-harp-tulip-violin"), func(in Intro) (Intro, error) { return Intro{}, nil })
	if err := <-done; err == nil || !strings.Contains(err.Error(), "returned an offer with number 8") {
		t.Fatalf("serve: %v", err)
	}
	if jerr == nil {
		t.Fatal("join succeeded")
	}
}

// closeOnReject closes the connection instead of writing a reject frame.
type closeOnReject struct{ net.Conn }

func (c closeOnReject) Write(p []byte) (int, error) {
	if len(p) > 0 && frameKind(p[0]) == kindReject {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

// TestHangUpAfterMessage3: when the offerer's reject does not arrive and
// the connection just closes after message 3, the joiner reports a wrong
// code.
func TestHangUpAfterMessage3(t *testing.T) {
	right, typed := testCode(t, "7-harp-tulip-violin"), testCode(t, "7-harp-tulip-wagon")
	jc, oc := net.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Serve(t.Context(), closeOnReject{oc}, testKey(t, 2), &oneOffer{offer: Offer{Code: right}})
		done <- err
	}()
	_, err := Join(t.Context(), jc, testKey(t, 1), typed, func(Intro) (Intro, error) {
		t.Error("choose called")
		return Intro{}, nil
	})
	if !errors.Is(err, ErrWrongCode) || !strings.Contains(err.Error(), "hung up") {
		t.Fatalf("join: %v, want ErrWrongCode after a hang-up", err)
	}
	if err := <-done; !errors.Is(err, ErrWrongCode) {
		t.Fatalf("serve: %v", err)
	}
}

// TestOffererEnforcesSubset: a joiner that skips its own check and accepts
// a folder that was not offered is refused by the offerer.
func TestOffererEnforcesSubset(t *testing.T) {
	code := testCode(t, "7-harp-tulip-violin")
	offered := Intro{Name: "a", Folders: []Folder{{ID: "docs"}, {ID: "photos"}}}
	jc, oc := net.Pipe()
	defer jc.Close()
	done := make(chan error, 1)
	go func() {
		_, err := Serve(t.Context(), oc, testKey(t, 2), &oneOffer{offer: Offer{Code: code, Intro: offered}})
		done <- err
	}()
	ch, err := joinHandshake(jc, testKey(t, 1), code)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ch.read(); err != nil || !reflect.DeepEqual(m.intro, offered) {
		t.Fatalf("offerer's intro: %+v, %v", m, err)
	}
	if err := ch.write(introMessage(Intro{Folders: []Folder{{ID: "docs"}, {ID: "secret"}}})); err != nil {
		t.Fatal(err)
	}
	m, err := ch.read()
	if err != nil || m.kind != msgAbort || !strings.Contains(m.reason, `"secret" was not offered`) {
		t.Fatalf("got %+v, %v; want an abort naming the folder", m, err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), `folder "secret" was not offered`) {
		t.Fatalf("serve: %v", err)
	}
}

// TestCleanReason: abort reasons are made printable and short.
func TestCleanReason(t *testing.T) {
	long := strings.Repeat("é", maxReasonLen) // 2 bytes each
	tests := []struct{ in, want string }{
		{"declined", "declined"},
		{"a\nb\x00c", "a b c"},
		{"bad \xff byte", "bad ? byte"},
		{long, long[:maxReasonLen]},
	}
	for _, tt := range tests {
		if got := cleanReason(tt.in); got != tt.want {
			t.Errorf("cleanReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	writeFrame(&seed, kindHello, hello{offer: 7, msgA: make([]byte, cpaceALen)}.encode())
	writeFrame(&seed, kindCPace, make([]byte, cpaceBLen))
	writeFrame(&seed, kindHandshake, make([]byte, handshakeLens[1]))
	writeFrame(&seed, kindReject, []byte{byte(rejectWrongCode)})
	f.Add(seed.Bytes())
	f.Add([]byte{byte(kindSealed), 0, 16})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			start := len(data) - r.Len()
			fr, err := readFrame(r)
			if err != nil {
				if err != io.EOF && !errors.Is(err, errMalformed) && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			var again bytes.Buffer
			if err := writeFrame(&again, fr.kind, fr.body); err != nil {
				t.Fatal(err)
			}
			end := len(data) - r.Len()
			if !bytes.Equal(again.Bytes(), data[start:end]) {
				t.Fatalf("frame %+v re-encodes differently", fr)
			}
			switch fr.kind {
			case kindHello:
				parseHello(fr.body)
			case kindSealed:
				decodeMessage(fr.body)
			case kindReject:
				rejectReason(fr.body[0]).err()
			}
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []message{introMessage(Intro{Name: "x", Addrs: []string{":1"}, Folders: []Folder{{ID: "a", Label: "b"}}}),
		{kind: msgDone}, abortMessage("no")} {
		b, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMessage(data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if m.kind == msgIntro {
			if err := m.intro.Validate(); err != nil {
				t.Fatalf("decoded an invalid intro: %v", err)
			}
		}
		b, err := encodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeMessage(b)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %+v -> %+v, %v", m, again, err)
		}
	})
}

func TestIsOpening(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, kindHello, hello{offer: 7, msgA: make([]byte, cpaceALen)}.encode()); err != nil {
		t.Fatal(err)
	}
	if !IsOpening(buf.Bytes()[:SniffLen]) {
		t.Fatalf("a real opening is not recognised: % x", buf.Bytes()[:SniffLen])
	}
	noiseStart := bytes.Repeat([]byte{0x01}, SniffLen) // a Noise ephemeral key starting like a frame
	for _, b := range [][]byte{nil, buf.Bytes()[:SniffLen-1], noiseStart} {
		if IsOpening(b) {
			t.Fatalf("% x taken for an opening", b)
		}
	}
}
