package pair

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"ferry/proto/pb"
)

// msgKind tells the messages of the encrypted channel apart.
type msgKind int

const (
	msgIntro msgKind = iota + 1 // an Intro
	msgDone                     // the offerer accepted the pairing
	msgAbort                    // the sender gives up; reason says why
)

// message is one message of the encrypted channel, in domain form.
type message struct {
	kind   msgKind
	intro  Intro  // for msgIntro
	reason string // for msgAbort
}

func introMessage(in Intro) message { return message{kind: msgIntro, intro: in} }

func abortMessage(reason string) message {
	return message{kind: msgAbort, reason: cleanReason(reason)}
}

// cleanReason makes reason fit an abort message: valid UTF-8 without control
// characters, at most maxReasonLen bytes.
func cleanReason(reason string) string {
	reason = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(reason, "?"))
	for len(reason) > maxReasonLen {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	return reason
}

// encodeMessage converts m to its wire form.
func encodeMessage(m message) ([]byte, error) {
	var w pb.PairMessage
	switch m.kind {
	case msgIntro:
		w.Body = &pb.PairMessage_Intro{Intro: introToPB(m.intro)}
	case msgDone:
		w.Body = &pb.PairMessage_Done{Done: &pb.PairDone{}}
	case msgAbort:
		w.Body = &pb.PairMessage_Abort{Abort: &pb.PairAbort{Reason: m.reason}}
	default:
		return nil, fmt.Errorf("encode pairing message: unknown kind %d", m.kind)
	}
	b, err := proto.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("encode pairing message: %w", err)
	}
	return b, nil
}

// decodeMessage reads a message and checks it: exactly one body, a valid
// Intro, a short printable abort reason. Errors wrap errMalformed.
func decodeMessage(b []byte) (message, error) {
	var w pb.PairMessage
	if err := proto.Unmarshal(b, &w); err != nil {
		return message{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	switch body := w.Body.(type) {
	case *pb.PairMessage_Intro:
		return decodeIntro(body.Intro)
	case *pb.PairMessage_Done:
		return message{kind: msgDone}, nil
	case *pb.PairMessage_Abort:
		if reason := textProblem(body.Abort.GetReason(), maxReasonLen); reason != "" {
			return message{}, fmt.Errorf("%w: abort reason %s", errMalformed, reason)
		}
		return abortMessage(body.Abort.GetReason()), nil
	}
	return message{}, fmt.Errorf("%w: empty or unknown message", errMalformed)
}

func decodeIntro(w *pb.PairIntro) (message, error) {
	if len(w.GetAddrs()) > MaxAddrs || len(w.GetFolders()) > MaxFolders {
		return message{}, fmt.Errorf("%w: intro with %d addresses and %d folders", errMalformed, len(w.GetAddrs()), len(w.GetFolders()))
	}
	in := introFromPB(w)
	if err := in.Validate(); err != nil {
		return message{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return introMessage(in), nil
}

func introToPB(in Intro) *pb.PairIntro {
	w := &pb.PairIntro{Name: in.Name, Addrs: in.Addrs}
	for _, f := range in.Folders {
		w.Folders = append(w.Folders, &pb.PairFolder{Id: f.ID, Label: f.Label})
	}
	return w
}

func introFromPB(w *pb.PairIntro) Intro {
	in := Intro{Name: w.GetName(), Addrs: w.GetAddrs()}
	for _, f := range w.GetFolders() {
		in.Folders = append(in.Folders, Folder{ID: f.GetId(), Label: f.GetLabel()})
	}
	return in
}
