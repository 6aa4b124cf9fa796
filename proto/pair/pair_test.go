package pair_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ferry/proto/noise"
	"ferry/proto/pair"
)

var (
	offererIntro = pair.Intro{
		Name:  "laptop",
		Addrs: []string{":22000", "192.168.1.5:22000", "[fe80::1]:22000"},
		Folders: []pair.Folder{
			{ID: "docs", Label: "Documents"},
			{ID: "photos-2024", Label: "Photos ☀"},
			{ID: "music", Label: ""},
		},
	}
	joinerIntro = pair.Intro{
		Name:    "phone",
		Addrs:   []string{"0.0.0.0:22001"},
		Folders: []pair.Folder{{ID: "photos-2024"}, {ID: "music", Label: "Tunes"}},
	}
)

func keypair(t testing.TB, seed byte) noise.Keypair {
	t.Helper()
	k, err := noise.GenerateKeypair(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCode(t testing.TB, s string) pair.Code {
	t.Helper()
	c, err := pair.ParseCode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// offers is pair.Offers over a fixed set of offers, kept as an offerer
// must: Find leaves an offer open, Claim retires it (one guess per offer).
// It records the numbers of both calls.
type offers struct {
	mu            sync.Mutex
	open          map[uint32]pair.Offer
	finds, claims []uint32
	choose        atomic.Int32 // calls of the joiner's choose, for convenience
}

func newOffers(list ...pair.Offer) *offers {
	o := &offers{open: map[uint32]pair.Offer{}}
	for _, of := range list {
		o.open[of.Code.Offer()] = of
	}
	return o
}

func (o *offers) Find(n uint32) (pair.Offer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finds = append(o.finds, n)
	of, ok := o.open[n]
	if !ok {
		return pair.Offer{}, pair.ErrNoOffer
	}
	return of, nil
}

func (o *offers) Claim(n uint32) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims = append(o.claims, n)
	if _, ok := o.open[n]; !ok {
		return pair.ErrNoOffer
	}
	delete(o.open, n)
	return nil
}

// calls returns the numbers Find and Claim were called with.
func (o *offers) calls() (finds, claims []uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.finds), slices.Clone(o.claims)
}

type outcome struct {
	res pair.Result
	err error
}

// acceptAll is a choose function that accepts the joiner's intro unchanged
// and checks nothing.
func accept(in pair.Intro) func(pair.Intro) (pair.Intro, error) {
	return func(pair.Intro) (pair.Intro, error) { return in, nil }
}

// run pairs a joiner on jc with an offerer on oc and returns both outcomes.
func run(ctx context.Context, jc, oc net.Conn, jkey, okey noise.Keypair, code pair.Code, o *offers, choose func(pair.Intro) (pair.Intro, error)) (joiner, offerer outcome) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	counted := func(in pair.Intro) (pair.Intro, error) {
		o.choose.Add(1)
		return choose(in)
	}
	done := make(chan outcome)
	go func() {
		res, err := pair.Serve(ctx, oc, okey, o)
		done <- outcome{res, err}
	}()
	res, err := pair.Join(ctx, jc, jkey, code, counted)
	return outcome{res, err}, <-done
}

// pipe and loopback give two connected ends: joiner first.
func pipe(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	return a, b
}

func loopback(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	return c, s
}

func TestPair(t *testing.T) {
	for _, tr := range []struct {
		name string
		conn func(testing.TB) (net.Conn, net.Conn)
	}{{"pipe", pipe}, {"tcp", loopback}} {
		t.Run(tr.name, func(t *testing.T) {
			jkey, okey := keypair(t, 1), keypair(t, 2)
			code := mustCode(t, "42-harp-tulip-violin")
			o := newOffers(pair.Offer{Code: code, Intro: offererIntro})
			var seen pair.Intro
			choose := func(in pair.Intro) (pair.Intro, error) {
				seen = in
				return joinerIntro, nil
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			jc, oc := tr.conn(t)
			j, s := run(ctx, jc, oc, jkey, okey, code, o, choose)
			if j.err != nil || s.err != nil {
				t.Fatalf("join: %v\nserve: %v", j.err, s.err)
			}
			if j.res.Peer != okey.ID() || s.res.Peer != jkey.ID() {
				t.Fatalf("peers: joiner saw %v, offerer saw %v", j.res.Peer, s.res.Peer)
			}
			if !reflect.DeepEqual(seen, offererIntro) || !reflect.DeepEqual(j.res.Intro, offererIntro) {
				t.Fatalf("offerer's intro arrived as %+v / %+v", seen, j.res.Intro)
			}
			if !reflect.DeepEqual(s.res.Intro, joinerIntro) {
				t.Fatalf("joiner's intro arrived as %+v", s.res.Intro)
			}
			if finds, claims := o.calls(); !slices.Equal(finds, []uint32{42}) || !slices.Equal(claims, []uint32{42}) {
				t.Fatalf("finds %v, claims %v; want [42] each", finds, claims)
			}
		})
	}
}

// TestPairEmptyIntros: the smallest intros are valid too.
func TestPairEmptyIntros(t *testing.T) {
	code := mustCode(t, "1-amber-zebra-yoga")
	jc, oc := net.Pipe()
	j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), code, newOffers(pair.Offer{Code: code}), accept(pair.Intro{}))
	if j.err != nil || s.err != nil {
		t.Fatalf("join: %v\nserve: %v", j.err, s.err)
	}
	if !reflect.DeepEqual(j.res.Intro, pair.Intro{}) || !reflect.DeepEqual(s.res.Intro, pair.Intro{}) {
		t.Fatalf("intros %+v / %+v", j.res.Intro, s.res.Intro)
	}
}

func TestWrongCode(t *testing.T) {
	right := mustCode(t, "7-harp-tulip-violin")
	other := mustCode(t, "8-amber-bison-candle")
	tests := []struct {
		name  string
		typed string
		take  uint32
	}{
		{"last word different", "7-harp-tulip-wagon", 7},
		{"first word different", "7-hill-tulip-violin", 7},
		{"words swapped", "7-tulip-harp-violin", 7},
		{"number of another offer", "8-harp-tulip-violin", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typed := mustCode(t, tt.typed)
			for _, tr := range []struct {
				name string
				conn func(testing.TB) (net.Conn, net.Conn)
			}{{"pipe", pipe}, {"tcp", loopback}} {
				o := newOffers(pair.Offer{Code: right, Intro: offererIntro}, pair.Offer{Code: other, Intro: offererIntro})
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				jc, oc := tr.conn(t)
				j, s := run(ctx, jc, oc, keypair(t, 1), keypair(t, 2), typed, o, accept(joinerIntro))
				cancel()
				if !errors.Is(j.err, pair.ErrWrongCode) || !errors.Is(s.err, pair.ErrWrongCode) {
					t.Fatalf("%s: join: %v\nserve: %v\nwant ErrWrongCode on both", tr.name, j.err, s.err)
				}
				if finds, claims := o.calls(); !slices.Equal(finds, []uint32{tt.take}) || !slices.Equal(claims, []uint32{tt.take}) {
					t.Fatalf("%s: finds %v, claims %v; want [%d] each", tr.name, finds, claims, tt.take)
				}
				if n := o.choose.Load(); n != 0 {
					t.Fatalf("%s: choose called %d times with a wrong code", tr.name, n)
				}
			}
		})
	}
}

// TestRetryAfterWrongCode: the offer is gone after one wrong guess, so
// even the right code fails the second time.
func TestRetryAfterWrongCode(t *testing.T) {
	right := mustCode(t, "7-harp-tulip-violin")
	o := newOffers(pair.Offer{Code: right, Intro: offererIntro})
	jc, oc := net.Pipe()
	j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), mustCode(t, "7-harp-tulip-wagon"), o, accept(joinerIntro))
	if !errors.Is(j.err, pair.ErrWrongCode) || !errors.Is(s.err, pair.ErrWrongCode) {
		t.Fatalf("first attempt: %v / %v", j.err, s.err)
	}
	jc, oc = net.Pipe()
	j, s = run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), right, o, accept(joinerIntro))
	if !errors.Is(j.err, pair.ErrNoOffer) || !errors.Is(s.err, pair.ErrNoOffer) {
		t.Fatalf("second attempt: %v / %v, want ErrNoOffer", j.err, s.err)
	}
}

func TestNoOffer(t *testing.T) {
	o := newOffers(pair.Offer{Code: mustCode(t, "7-harp-tulip-violin"), Intro: offererIntro})
	jc, oc := net.Pipe()
	j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), mustCode(t, "9-harp-tulip-violin"), o, accept(joinerIntro))
	if !errors.Is(j.err, pair.ErrNoOffer) || !errors.Is(s.err, pair.ErrNoOffer) {
		t.Fatalf("join: %v\nserve: %v\nwant ErrNoOffer on both", j.err, s.err)
	}
	if finds, claims := o.calls(); !slices.Equal(finds, []uint32{9}) || len(claims) != 0 {
		t.Fatalf("finds %v, claims %v; want [9] and none", finds, claims)
	}
}

func TestChooseError(t *testing.T) {
	declined := errors.New("user declined")
	code := mustCode(t, "7-harp-tulip-violin")
	jc, oc := net.Pipe()
	j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), code, newOffers(pair.Offer{Code: code, Intro: offererIntro}),
		func(pair.Intro) (pair.Intro, error) { return pair.Intro{}, declined })
	if !errors.Is(j.err, declined) {
		t.Fatalf("join: %v, want the choose error", j.err)
	}
	if !errors.Is(s.err, pair.ErrAborted) || !strings.Contains(s.err.Error(), "user declined") {
		t.Fatalf("serve: %v, want ErrAborted quoting the reason", s.err)
	}
}

// TestJoinerChoosesBadIntro: folders that were not offered, or an intro
// breaking the limits, fail at the joiner, which tells the offerer.
func TestJoinerChoosesBadIntro(t *testing.T) {
	tests := []struct {
		name string
		in   pair.Intro
		want string
	}{
		{"folder not offered", pair.Intro{Folders: []pair.Folder{{ID: "docs"}, {ID: "secret"}}}, "was not offered"},
		{"name too long", pair.Intro{Name: strings.Repeat("x", pair.MaxNameLen+1)}, "name of 65 bytes"},
		{"bad address", pair.Intro{Addrs: []string{"no port"}}, "not host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := mustCode(t, "7-harp-tulip-violin")
			jc, oc := net.Pipe()
			j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), code, newOffers(pair.Offer{Code: code, Intro: offererIntro}), accept(tt.in))
			if j.err == nil || !strings.Contains(j.err.Error(), tt.want) {
				t.Fatalf("join: %v, want %q", j.err, tt.want)
			}
			if !errors.Is(s.err, pair.ErrAborted) || !strings.Contains(s.err.Error(), tt.want) {
				t.Fatalf("serve: %v, want ErrAborted with %q", s.err, tt.want)
			}
		})
	}
}

// TestSilentJoiner: an offerer waiting for a joiner that never speaks gives
// up at the context's deadline, and a cancelled context stops it too.
func TestSilentJoiner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn, silent := net.Pipe()
		defer silent.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		o := newOffers()
		_, err := pair.Serve(ctx, conn, keypair(t, 2), o)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("gave up after %v, want 5s", d)
		}
		if finds, claims := o.calls(); len(finds)+len(claims) != 0 {
			t.Fatal("offers used without an opening")
		}
	})
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn, silent := net.Pipe()
		defer silent.Close()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		go func() { // read the opening, then say nothing
			buf := make([]byte, 1024)
			silent.Read(buf)
		}()
		_, err := pair.Join(ctx, conn, keypair(t, 1), mustCode(t, "7-harp-tulip-violin"), accept(joinerIntro))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// TestDefaultTimeout: without a deadline in the context, DefaultTimeout
// applies to a joiner; an offerer waits ProofTimeout for the proof.
func TestDefaultTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn, silent := net.Pipe()
		defer silent.Close()
		go io.Copy(io.Discard, silent)
		start := time.Now()
		_, err := pair.Join(context.Background(), conn, keypair(t, 1), mustCode(t, "7-harp-tulip-violin"), accept(joinerIntro))
		if err == nil || time.Since(start) != pair.DefaultTimeout {
			t.Fatalf("join: got %v after %v, want a timeout after %v", err, time.Since(start), pair.DefaultTimeout)
		}
		conn, silent = net.Pipe()
		defer silent.Close()
		start = time.Now()
		_, err = pair.Serve(context.Background(), conn, keypair(t, 2), newOffers())
		if err == nil || time.Since(start) != pair.ProofTimeout {
			t.Fatalf("serve: got %v after %v, want a timeout after %v", err, time.Since(start), pair.ProofTimeout)
		}
	})
}

func TestBadKeypair(t *testing.T) {
	bad := keypair(t, 1)
	bad.Public = keypair(t, 2).Public
	jc, oc := net.Pipe()
	defer oc.Close()
	_, err := pair.Join(t.Context(), jc, bad, mustCode(t, "7-harp-tulip-violin"), accept(joinerIntro))
	if !errors.Is(err, noise.ErrKeyMismatch) {
		t.Fatalf("got %v, want ErrKeyMismatch", err)
	}
}

func TestZeroCode(t *testing.T) {
	jc, oc := net.Pipe()
	defer oc.Close()
	_, err := pair.Join(t.Context(), jc, keypair(t, 1), pair.Code{}, accept(joinerIntro))
	if !errors.Is(err, pair.ErrBadCode) {
		t.Fatalf("got %v, want ErrBadCode", err)
	}
}

// TestSameKey: a device cannot pair with itself.
func TestSameKey(t *testing.T) {
	code := mustCode(t, "7-harp-tulip-violin")
	jc, oc := net.Pipe()
	k := keypair(t, 1)
	j, s := run(t.Context(), jc, oc, k, k, code, newOffers(pair.Offer{Code: code, Intro: offererIntro}), accept(joinerIntro))
	if j.err == nil || s.err == nil || errors.Is(j.err, context.DeadlineExceeded) || errors.Is(s.err, context.DeadlineExceeded) {
		t.Fatalf("pairing with itself: join %v, serve %v; want both to fail at once", j.err, s.err)
	}
	if !strings.Contains(j.err.Error(), "our own device ID") {
		t.Fatalf("join: %v, want it to name the reason", j.err)
	}
}
