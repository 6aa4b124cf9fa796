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
}

// Status is a snapshot of the daemon: this device, its folders, the trusted
// devices and unknown devices that tried to connect. Lists are never null in
// JSON.
type Status struct {
	Device  ThisDevice      `json:"device"`
	Folders []FolderStatus  `json:"folders"`
	Devices []DeviceStatus  `json:"devices"`
	Pending []PendingDevice `json:"pending"`
}

// ThisDevice names the device the daemon runs on.
type ThisDevice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Folder states.
const (
	StateIdle     = "idle"
	StateScanning = "scanning"
	StateSyncing  = "syncing"
	StateError    = "error"
)

// FolderStatus is one folder's state and counts. Bytes are file content
// bytes; Need* is what this device still has to fetch.
type FolderStatus struct {
	ID          string   `json:"id"`
	Path        string   `json:"path"`
	Type        string   `json:"type"`
	State       string   `json:"state"` // idle, scanning, syncing or error
	InSync      bool     `json:"inSync"`
	NeedFiles   int      `json:"needFiles"`
	NeedBytes   int64    `json:"needBytes"`
	LocalFiles  int      `json:"localFiles"`
	LocalBytes  int64    `json:"localBytes"`
	GlobalFiles int      `json:"globalFiles"`
	GlobalBytes int64    `json:"globalBytes"`
	Conflicts   int      `json:"conflicts"`
	Errors      []string `json:"errors"`
	Devices     []string `json:"devices"` // IDs of the devices it is shared with
}

// DeviceStatus is a trusted device and its connection. Bytes count
// application data sent and received since the daemon started.
type DeviceStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	Address   string `json:"address"`
	InBytes   int64  `json:"inBytes"`
	OutBytes  int64  `json:"outBytes"`
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
	for i := range s.Folders {
		s.Folders[i].Errors = nonNil(s.Folders[i].Errors)
		s.Folders[i].Devices = nonNil(s.Folders[i].Devices)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
