package pair

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseHello parses arbitrary bytes as the body of a joiner's opening.
// What it accepts has the documented length and an offer number in range,
// encodes to the same bytes, and opens a connection as IsOpening expects;
// what it refuses is refused as malformed or of another version.
func FuzzParseHello(f *testing.F) {
	good := hello{offer: 7, msgA: bytes.Repeat([]byte{0xab}, cpaceALen)}.encode()
	f.Add(good)
	f.Add(hello{offer: MaxOffer, msgA: make([]byte, cpaceALen)}.encode())
	f.Add(hello{offer: MaxOffer + 1, msgA: make([]byte, cpaceALen)}.encode())
	f.Add(append([]byte(magic), 2))
	f.Add(good[:len(good)-1])
	f.Add([]byte("ferry-pai"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := parseHello(body)
		if err != nil {
			if !errors.Is(err, errMalformed) && !errors.Is(err, errVersion) {
				t.Fatalf("parseHello(%x) = %v, want errMalformed or errVersion", body, err)
			}
			return
		}
		if len(body) != helloLen || h.offer < 1 || h.offer > MaxOffer || len(h.msgA) != cpaceALen {
			t.Fatalf("parseHello(%x) accepted offer %d with %d bytes of CPace", body, h.offer, len(h.msgA))
		}
		if again := h.encode(); !bytes.Equal(again, body) {
			t.Fatalf("parseHello(%x) re-encodes as %x", body, again)
		}
		var frame bytes.Buffer
		if err := writeFrame(&frame, kindHello, body); err != nil {
			t.Fatal(err)
		}
		if !IsOpening(frame.Bytes()[:SniffLen]) {
			t.Fatalf("an accepted opening %x is not recognised by IsOpening", body)
		}
	})
}

// FuzzIntro builds an Intro from fuzzed fields: addresses, folder IDs and
// labels are lines, and extra adds that many folders named after the first
// ID. Validate and the decoder agree on it; a valid one keeps the
// documented limits, fits one sealed frame and reads back equal.
func FuzzIntro(f *testing.F) {
	f.Add("laptop", ":22000\n192.168.1.7:22000\n[fe80::1%eth0]:22000", "photos\ndocs", "Photos\nDocuments", uint16(0))
	f.Add("", "", "", "", uint16(0))
	f.Add("n", "host:0", "a\na", "", uint16(0))
	f.Add("tab\tname", "h st:1", "é", "\xff", uint16(0))
	big := maxIntro() // the largest valid intro: folders with IDs of 64 bytes
	f.Add(big.Name, strings.Join(big.Addrs, "\n"), big.Folders[0].ID[:MaxFolderIDLen-3], big.Folders[0].Label, uint16(MaxFolders-1))
	f.Fuzz(func(t *testing.T, name, addrs, ids, labels string, extra uint16) {
		in := fuzzIntro(name, addrs, ids, labels, extra)
		verr := in.Validate()
		if verr == nil {
			if reason := introBreaks(in); reason != "" {
				t.Fatalf("Validate accepted an intro whose %s", reason)
			}
		}
		b, err := encodeMessage(introMessage(in))
		if err != nil {
			if verr == nil {
				t.Fatalf("a valid intro does not encode: %v", err)
			}
			return // strings that are not UTF-8 cannot be sent at all
		}
		m, err := decodeMessage(b)
		switch {
		case verr != nil && err == nil:
			t.Fatalf("Validate refuses the intro (%v) but the decoder takes it", verr)
		case verr != nil && !errors.Is(err, errMalformed):
			t.Fatalf("decoding an invalid intro: %v, want errMalformed", err)
		case verr != nil:
			return
		case err != nil:
			t.Fatalf("Validate accepts the intro but the decoder refuses it: %v", err)
		case len(b) > maxPlaintext:
			t.Fatalf("a valid intro encodes to %d bytes, more than a sealed frame's %d", len(b), maxPlaintext)
		case !reflect.DeepEqual(m, introMessage(in)):
			t.Fatalf("sent %+v, received %+v", in, m.intro)
		}
	})
}

// fuzzIntro builds the Intro FuzzIntro describes. Empty lists stay nil, as
// the decoder gives them.
func fuzzIntro(name, addrs, ids, labels string, extra uint16) Intro {
	in := Intro{Name: name}
	if addrs != "" {
		in.Addrs = strings.Split(addrs, "\n")
	}
	idList, labelList := strings.Split(ids, "\n"), strings.Split(labels, "\n")
	if ids != "" {
		for i, id := range idList {
			fo := Folder{ID: id}
			if i < len(labelList) {
				fo.Label = labelList[i]
			}
			in.Folders = append(in.Folders, fo)
		}
	}
	for i := range int(min(extra, MaxFolders+1)) {
		in.Folders = append(in.Folders, Folder{ID: fmt.Sprintf("%s%d", idList[0], i), Label: labelList[0]})
	}
	return in
}

// introBreaks says which limit of Intro and Folder in breaks, or "".
func introBreaks(in Intro) string {
	if !printable(in.Name, MaxNameLen) {
		return "name breaks the limits"
	}
	if len(in.Addrs) > MaxAddrs || len(in.Folders) > MaxFolders {
		return "lists are too long"
	}
	for _, a := range in.Addrs {
		i := strings.LastIndexByte(a, ':')
		if len(a) > MaxAddrLen || i < 0 || strings.ContainsFunc(a[:i], func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return fmt.Sprintf("address %q is not host:port", a)
		}
		if port := a[i+1:]; port == "" || strings.Trim(port, "0123456789") != "" || strings.TrimLeft(port, "0") == "" || len(strings.TrimLeft(port, "0")) > 5 {
			return fmt.Sprintf("address %q has a bad port", a)
		}
	}
	seen := make(map[string]bool)
	for _, fo := range in.Folders {
		if fo.ID == "" || !printable(fo.ID, MaxFolderIDLen) || !printable(fo.Label, MaxLabelLen) || seen[fo.ID] {
			return fmt.Sprintf("folder %+v breaks the limits or is listed twice", fo)
		}
		seen[fo.ID] = true
	}
	return ""
}

// printable reports whether s is valid UTF-8 of at most limit bytes without
// control characters.
func printable(s string, limit int) bool {
	return len(s) <= limit && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// FuzzAbortReason makes an abort message of any reason. Whatever the
// reason, the message is one the peer accepts, and it reads back equal; a
// reason already fit to send is kept as it is.
func FuzzAbortReason(f *testing.F) {
	f.Add("declined")
	f.Add("a\nb\x00c")
	f.Add("bad \xff byte")
	f.Add(strings.Repeat("é", maxReasonLen))
	f.Add(strings.Repeat("x", maxReasonLen-1) + "é")
	f.Fuzz(func(t *testing.T, reason string) {
		m := abortMessage(reason)
		if !printable(m.reason, maxReasonLen) {
			t.Fatalf("abortMessage(%q) keeps reason %q", reason, m.reason)
		}
		if printable(reason, maxReasonLen) && m.reason != reason {
			t.Fatalf("abortMessage(%q) changed a fit reason to %q", reason, m.reason)
		}
		b, err := encodeMessage(m)
		if err != nil {
			t.Fatalf("abort %q does not encode: %v", m.reason, err)
		}
		got, err := decodeMessage(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("abort %q reads back as %+v, %v", m.reason, got, err)
		}
	})
}
