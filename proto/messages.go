package proto

// Message is one application message on a connection.
type Message interface{ isMessage() }

// Hello is the first message each side sends after the handshake.
type Hello struct {
	DeviceName    string
	ClientVersion string
	Folders       []FolderHello
}

// FolderHello describes one folder the sender shares with the receiver.
type FolderHello struct {
	ID string
	// IndexID identifies the sender's index of this folder; it changes when
	// that index is recreated, which makes sequence numbers start over.
	IndexID uint64
	// MaxSequence is the sender's highest local sequence number.
	MaxSequence int64
	// SeenIndexID and SeenSequence say how much of the receiver's index the
	// sender already holds; the receiver sends only what is newer.
	SeenIndexID  uint64
	SeenSequence int64
}

// IndexUpdate carries file records of the sender's own index of a folder.
type IndexUpdate struct {
	Folder  string
	IndexID uint64
	Files   []FileInfo
}

// Request asks for one block.
type Request struct {
	ID     uint32
	Folder string
	Name   string
	Offset int64
	Size   int32
	Hash   Hash
	// History asks for the block by hash from the versions the device
	// keeps of Name, not from its current file; Offset is not used.
	History bool
}

// HistoryRequest asks which old versions of a file a device keeps. With no
// Name it asks what each file of the folder was at the moment At (Unix
// nanoseconds), by name, from the first name after After on: a kept
// version, or the current record (ID 0) when it has not changed since.
type HistoryRequest struct {
	ID     uint32
	Folder string
	Name   string
	At     int64
	After  string
}

// HistoryVersion is one old version a device keeps.
type HistoryVersion struct {
	ID    uint64 // unique on the device that keeps it
	File  FileInfo
	Until int64   // when it was replaced there, Unix nanoseconds
	Kind  uint8   // 1 replaced, 2 deleted, 3 lost a conflict, 4 a local change undone
	By    ShortID // the device whose change replaced it
}

// HistoryResponse answers a HistoryRequest, newest versions first, at most
// MaxHistoryVersions of them.
type HistoryResponse struct {
	ID       uint32
	Code     ErrorCode
	Versions []HistoryVersion
	More     bool // a folder's files go on after the last one listed
}

// Relay carries one step of a connection relayed through a device that
// both ends trust (see doc.go). Stream numbers a relayed stream on one
// connection; the device that dialled the connection opens odd ones, the
// other even ones.
type Relay struct {
	Stream uint32
	Kind   RelayKind
	Peer   DeviceID // RelayOpen, RelayArrive: the device at the other end
	Data   []byte   // RelayData: at most MaxRelayData bytes of the stream
	Credit uint32   // RelayAck: bytes the receiver consumed since its last ack
	Reason string   // RelayClose: why it ends, at most MaxRelayReason bytes
}

// RelayKind says what a Relay message does.
type RelayKind uint8

// Relay message kinds. An open asks the receiver to relay the stream to
// Peer; the relay then tells Peer the stream arrives from the opener.
const (
	RelayOpen RelayKind = iota + 1
	RelayData
	RelayAck
	RelayClose
	RelayArrive
)

// Bounds of a Relay message.
const (
	MaxRelayData   = 32 << 10
	MaxRelayReason = 256
)

// ErrorCode is the outcome of a Request.
type ErrorCode int32

const (
	CodeOK ErrorCode = iota
	CodeGeneric
	CodeNoSuchFile
	CodeInvalid // bad folder, name or range, or not shared with the requester
	CodeChanged // the data no longer has the requested hash
)

// Response answers a Request with the block's bytes or an error code.
type Response struct {
	ID   uint32
	Code ErrorCode
	Data []byte
}

// Ping keeps a connection alive.
type Ping struct{}

// Close tells the peer why the connection ends.
type Close struct{ Reason string }

func (*Hello) isMessage()           {}
func (*IndexUpdate) isMessage()     {}
func (*Request) isMessage()         {}
func (*HistoryRequest) isMessage()  {}
func (*HistoryResponse) isMessage() {}
func (*Relay) isMessage()           {}
func (*Response) isMessage()        {}
func (*Ping) isMessage()            {}
func (*Close) isMessage()           {}
