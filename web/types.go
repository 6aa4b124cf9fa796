package web

import "context"

// Backend is what the API serves: the daemon implements it. Errors wrapped
// with BadRequest or NotFound answer 400 or 404; any other error answers 500.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	// Scan rescans a folder, or one subtree of it when path is not empty,
	// and returns when the result has been applied.
	Scan(ctx context.Context, folder, path string) error
	AddDevice(ctx context.Context, d DeviceRequest) error
	RemoveDevice(ctx context.Context, id string) error
	// AddFolder adds a folder and returns its ID.
	AddFolder(ctx context.Context, f FolderRequest) (string, error)
	ShareFolder(ctx context.Context, folder, device string) error
	// IgnoreDevice forgets a pending unknown device and stops listing it.
	IgnoreDevice(ctx context.Context, id string) error
	// FolderAction runs one of the Action* commands on a folder.
	FolderAction(ctx context.Context, folder, action string) error
	// SetFolder changes a folder's settings.
	SetFolder(ctx context.Context, folder string, s FolderSettings) error
	// RemoveFolder stops syncing a folder and leaves its files on disk;
	// forget also drops its index and its history.
	RemoveFolder(ctx context.Context, folder string, forget bool) error
	// UnshareFolder stops sharing a folder with a device.
	UnshareFolder(ctx context.Context, folder, device string) error
	// SetDevice changes a trusted device's settings.
	SetDevice(ctx context.Context, id string, s DeviceSettings) error
	// AcceptFolder takes a folder a trusted device offers and returns its
	// path.
	AcceptFolder(ctx context.Context, req AcceptRequest) (string, error)

	// CreateOffer makes a pairing offer, replacing any earlier one, and
	// returns its code.
	CreateOffer(ctx context.Context, req OfferRequest) (Offer, error)
	// CurrentOffer returns the latest offer and what became of it; Code is
	// empty when no offer was ever made.
	CurrentOffer(ctx context.Context) (Offer, error)
	// CancelOffer burns the current offer.
	CancelOffer(ctx context.Context) error
	// Join pairs with the device showing req.Code and returns who it was.
	Join(ctx context.Context, req JoinRequest) (JoinResult, error)

	History
	Conflicts
}

// Pairing offer states.
const (
	OfferWaiting  = "waiting"  // the code may be used
	OfferPaired   = "paired"   // a device joined with it
	OfferFailed   = "failed"   // a wrong code was tried: the offer is burnt
	OfferExpired  = "expired"  // nobody joined in time
	OfferCanceled = "canceled" // replaced or cancelled
)

// OfferRequest asks for a pairing offer sharing the given folders with the
// device that joins. TTL is a Go duration ("10m"); empty means 10 minutes.
type OfferRequest struct {
	Folders []string `json:"folders"`
	TTL     string   `json:"ttl"`
}

// Offer is a pairing offer: its code (as typed by the user, e.g.
// "7-harbor-tulip"), its state, the code as a QR code in SVG, and the
// device that joined, once one did.
type Offer struct {
	Code      string   `json:"code"`
	State     string   `json:"state"`
	ExpiresAt string   `json:"expiresAt"` // RFC 3339, UTC
	Folders   []string `json:"folders"`
	QRSVG     string   `json:"qrSvg"`
	Peer      string   `json:"peer"`     // device ID of the device that joined
	PeerName  string   `json:"peerName"` // its name
	Error     string   `json:"error"`    // why it failed
}

// JoinRequest joins the device showing Code. Addr skips discovery when set.
// Folders maps each offered folder ID to accept to a local path; offered
// folders not in it are put in a new directory under Into (Into/ID, or
// Into/ID-2 and so on when that is taken) when Into is set, else declined.
//
// An offered folder with the ID of a folder this device has is joined with
// that folder, which is then shared with the other device as it is, only
// when the request says so: its ID is in Existing, or Folders maps it to
// the folder's path. Otherwise it is not joined (JoinResult.Unconfirmed).
type JoinRequest struct {
	Code     string            `json:"code"`
	Addr     string            `json:"addr"`
	Folders  map[string]string `json:"folders"`
	Into     string            `json:"into"`
	Existing []string          `json:"existing,omitempty"`
}

// JoinResult names the device joined and the folders accepted from it.
// Unconfirmed are the offered folders that have the ID of a folder here
// (Path) and were not joined, since the request did not confirm them.
type JoinResult struct {
	Device      string         `json:"device"`
	Name        string         `json:"name"`
	Folders     []JoinedFolder `json:"folders"`
	Declined    []string       `json:"declined"` // offered folder IDs not accepted
	Unconfirmed []JoinedFolder `json:"unconfirmed"`
}

// JoinedFolder is an offered folder and where it was put.
type JoinedFolder struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// Status is a snapshot of the daemon: this device, its folders, the trusted
// devices and unknown devices that tried to connect. Lists are never null in
// JSON.
type Status struct {
	Device  ThisDevice      `json:"device"`
	Folders []FolderStatus  `json:"folders"`
	Devices []DeviceStatus  `json:"devices"`
	Pending []PendingDevice `json:"pending"`
	// Offered are the folders trusted devices share with this one that it
	// does not take yet.
	Offered []OfferedFolder `json:"offered"`
}

// ThisDevice names the device the daemon runs on and says how others
// reach it.
type ThisDevice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// External is where the internet reaches this device's sync port, as
	// the router mapped it ("upnp" or "nat-pmp" in Mapping); empty
	// without a mapping.
	External string `json:"external,omitempty"`
	Mapping  string `json:"mapping,omitempty"`
	// DHT is this device's node of the Mainline DHT; nil when off.
	DHT *DHTStatus `json:"dht,omitempty"`
	// Relay is what this device relays for others.
	Relay RelayStatus `json:"relay"`
}

// DHTStatus is what the DHT node knows and did.
type DHTStatus struct {
	Addr      string `json:"addr"`  // the UDP address it listens on
	Nodes     int    `json:"nodes"` // in its routing table
	GoodNodes int    `json:"goodNodes"`
	Announces int64  `json:"announces"`
	Lookups   int64  `json:"lookups"`
}

// RelayStatus counts the connections this device relays between others.
type RelayStatus struct {
	On        bool  `json:"on"`
	Streams   int   `json:"streams"`   // relayed now
	Forwarded int64 `json:"forwarded"` // bytes, since start
	Refused   int64 `json:"refused"`   // streams refused, since start
}

// Folder states.
const (
	StateHeld     = "held" // deletions wait for the user
	StatePaused   = "paused"
	StateIdle     = "idle"
	StateScanning = "scanning"
	StateSyncing  = "syncing"
	StateError    = "error"
)

// FolderStatus is one folder's state and counts. Bytes are file content
// bytes; Need* is what this device still has to fetch. NeedBytes drops as
// blocks arrive: it leaves out what is already in place of the files being
// pulled now (blocks fetched, copied from local files, or kept from an
// interrupted pull), so GlobalBytes-NeedBytes is the folder's progress in
// bytes even while one large file is pulled.
type FolderStatus struct {
	ID     string `json:"id"`
	Label  string `json:"label,omitempty"`
	Path   string `json:"path"`
	Type   string `json:"type"`
	State  string `json:"state"` // idle, scanning, syncing, error, held, paused, local-changes, out-of-sync or upgrading
	Paused bool   `json:"paused,omitempty"`
	// ScanInterval is the folder's own rescan interval (a Go duration);
	// empty when it uses the global one.
	ScanInterval string   `json:"scanInterval,omitempty"`
	InSync       bool     `json:"inSync"`
	NeedFiles    int      `json:"needFiles"`
	NeedBytes    int64    `json:"needBytes"`
	LocalFiles   int      `json:"localFiles"`
	LocalBytes   int64    `json:"localBytes"`
	GlobalFiles  int      `json:"globalFiles"`
	GlobalBytes  int64    `json:"globalBytes"`
	Conflicts    int      `json:"conflicts"`
	InRate       float64  `json:"inRate"` // bytes per second pulled, recent average
	ETA          float64  `json:"eta"`    // seconds left at InRate; 0 when unknown or in sync
	Errors       []string `json:"errors"`
	Devices      []string `json:"devices"` // IDs of the devices it is shared with
	// HeldLocal files vanished here and HeldRemote files a peer deleted at
	// once; their deletion waits for confirm-deletes or revert (state
	// "held"). HeldSample names some of them.
	HeldLocal  int      `json:"heldLocal"`
	HeldRemote int      `json:"heldRemote"`
	HeldSample []string `json:"heldSample"`
	// MassChange is how many files one scan found rewritten at once, until
	// the folder is resumed.
	MassChange int `json:"massChange"`
	// Apart counts the names the folder's type keeps apart from the other
	// devices (state "local-changes" in a receive-only folder: changes made
	// here, not sent; "out-of-sync" in a send-only one: their changes, not
	// taken). ApartSample names some of them.
	Apart       int      `json:"apart"`
	ApartSample []string `json:"apartSample"`
	// Upgraded counts the names whose index entries are upgraded so far
	// (state "upgrading"): an index written by an older version is
	// upgraded once, when the folder starts.
	Upgraded int `json:"upgraded,omitempty"`
	// Pulling lists files being pulled now, at most MaxPulling of them,
	// those begun first first; PullingFiles counts them all.
	Pulling      []PullProgress `json:"pulling"`
	PullingFiles int            `json:"pullingFiles"`
}

// MaxPulling is how many files being pulled a FolderStatus names at most.
const MaxPulling = 8

// PullProgress is a file being pulled: Done of its Size bytes are in place.
type PullProgress struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Done int64  `json:"done"`
}

// FolderSettings changes a folder's settings; nil fields are left alone.
type FolderSettings struct {
	// DeleteGuard sets the mass-delete rule; {"files":0,"percent":0}
	// turns it off. DefaultDeleteGuard restores the default rule instead.
	DeleteGuard        *DeleteGuard `json:"deleteGuard,omitempty"`
	DefaultDeleteGuard bool         `json:"defaultDeleteGuard,omitempty"`
	// Type, if set, changes the folder type: send-receive, send-only or
	// receive-only.
	Type string `json:"type,omitempty"`
	// Keep, if set, changes which old versions are kept (the --keep form,
	// e.g. 24h:all,30d:daily,52w:weekly, none or forever).
	Keep string `json:"keep,omitempty"`
	// Path, if set, points the folder at the directory it was moved to.
	Path string `json:"path,omitempty"`
	// Label, if set, changes the name it is shown by ("" shows the ID).
	Label *string `json:"label,omitempty"`
	// ScanInterval, if set, is a Go duration between full rescans; "0"
	// uses the global interval.
	ScanInterval string `json:"scanInterval,omitempty"`
}

// DeleteGuard holds deletions of at least Files files and Percent percent
// of a folder's files at once, or of all of them.
type DeleteGuard struct {
	Files   int `json:"files"`
	Percent int `json:"percent"`
}

// Folder actions, as in POST /api/folders/{id}/{action}.
const (
	// ActionResume marks the folder's directory as right (it creates the
	// marker of a folder whose marker is missing), clears the mass change
	// warning and restarts a stopped folder.
	ActionResume = "resume"
	// ActionConfirmDeletes lets held deletions go out.
	ActionConfirmDeletes = "confirm-deletes"
	// ActionRevert brings held files back.
	ActionRevert = "revert"
	// ActionOverride makes a send-only folder's state the newest version
	// everywhere.
	ActionOverride = "override"
	// ActionPause stops scanning and syncing the folder until it is
	// resumed; resuming a paused folder only unpauses it.
	ActionPause = "pause"
)

// DeviceStatus is a trusted device and its connection. Bytes count
// application data sent and received since the daemon started.
type DeviceStatus struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Paused bool     `json:"paused,omitempty"`
	Addrs  []string `json:"addrs"` // configured; empty means discovered
	// MaxSend and MaxRecv are the device's own bandwidth limits in bytes
	// per second; 0 is none.
	MaxSend   int64  `json:"maxSend,omitempty"`
	MaxRecv   int64  `json:"maxRecv,omitempty"`
	Connected bool   `json:"connected"`
	Address   string `json:"address"`
	// Via says how the connection came about: "incoming" (the device
	// dialled this one), "address" (a configured address), "lan" (heard on
	// the local network), "dht" (found in the DHT), "relay" (through the
	// device Relay), or "dialled" (another address); empty when not
	// connected.
	Via      string  `json:"via,omitempty"`
	Relay    string  `json:"relay,omitempty"` // the relaying device's ID
	InBytes  int64   `json:"inBytes"`
	OutBytes int64   `json:"outBytes"`
	InRate   float64 `json:"inRate"`  // bytes per second, recent average
	OutRate  float64 `json:"outRate"` // bytes per second, recent average
}

// PendingDevice is an unknown device that tried to connect.
type PendingDevice struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	LastSeen string `json:"lastSeen"` // RFC 3339, UTC
}

// DeviceRequest asks to trust a device.
type DeviceRequest struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
}

// FolderRequest asks to add a folder. ID and Type may be empty for the
// defaults (a slug of the path's last element, send-receive).
type FolderRequest struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	Type string `json:"type"`
}

// Request and response bodies that only the server and client share.
type (
	scanRequest struct {
		Folder string `json:"folder"`
		Path   string `json:"path"`
	}
	shareRequest struct {
		Device string `json:"device"`
	}
	folderResponse struct {
		ID string `json:"id"`
	}
	errorResponse struct {
		Error string `json:"error"`
	}
	okResponse struct {
		OK bool `json:"ok"`
	}
)

// normalize replaces null lists with empty ones so scripts can iterate
// without checking.
func (s *Status) normalize() {
	s.Folders = nonNil(s.Folders)
	s.Devices = nonNil(s.Devices)
	s.Pending = nonNil(s.Pending)
	s.Offered = nonNil(s.Offered)
	for i := range s.Devices {
		s.Devices[i].Addrs = nonNil(s.Devices[i].Addrs)
	}
	for i := range s.Folders {
		s.Folders[i].Errors = nonNil(s.Folders[i].Errors)
		s.Folders[i].Devices = nonNil(s.Folders[i].Devices)
		s.Folders[i].HeldSample = nonNil(s.Folders[i].HeldSample)
		s.Folders[i].ApartSample = nonNil(s.Folders[i].ApartSample)
		s.Folders[i].Pulling = nonNil(s.Folders[i].Pulling)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
