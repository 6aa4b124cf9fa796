package web

import (
	"context"
	"net/http"
	"net/url"
)

// DeviceSettings changes a trusted device's settings; nil fields are left
// alone.
type DeviceSettings struct {
	// Name is what the device is shown by ("" shows its ID).
	Name *string `json:"name,omitempty"`
	// Addrs are the host:port addresses it is dialled at; an empty list
	// finds it by discovery.
	Addrs *[]string `json:"addrs,omitempty"`
	// Paused devices are neither dialled nor let in.
	Paused *bool `json:"paused,omitempty"`
	// MaxSend and MaxRecv limit what is sent to and received from the
	// device, in bytes per second, on the local network too; 0 is no limit.
	MaxSend *int64 `json:"maxSend,omitempty"`
	MaxRecv *int64 `json:"maxRecv,omitempty"`
}

// OfferedFolder is a folder a trusted device shares with this one that
// this one does not take. Existing says a folder here has its ID:
// accepting shares that folder with the device.
type OfferedFolder struct {
	Device     string `json:"device"`
	DeviceName string `json:"deviceName"`
	Folder     string `json:"folder"`
	Existing   bool   `json:"existing"`
	LastSeen   string `json:"lastSeen"` // RFC 3339, UTC
}

// AcceptRequest takes the folder Folder that Device offers into Path, a
// directory made when missing. For a folder whose ID a folder here has,
// Path may be empty or that folder's path.
type AcceptRequest struct {
	Device string `json:"device"`
	Folder string `json:"folder"`
	Path   string `json:"path"`
}

type acceptResponse struct {
	Path string `json:"path"`
}

func (s *server) removeFolder(w http.ResponseWriter, r *http.Request) error {
	forget := false
	switch v := r.URL.Query().Get("forget"); v {
	case "", "0", "false":
	case "1", "true":
		forget = true
	default:
		return badRequest("forget wants true or false, not " + v)
	}
	if err := s.backend.RemoveFolder(r.Context(), r.PathValue("id"), forget); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) unshareFolder(w http.ResponseWriter, r *http.Request) error {
	dev, err := canonicalID(r.PathValue("device"))
	if err != nil {
		return err
	}
	if err := s.backend.UnshareFolder(r.Context(), r.PathValue("id"), dev); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) setDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := canonicalID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req DeviceSettings
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.backend.SetDevice(r.Context(), id, req); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) acceptFolder(w http.ResponseWriter, r *http.Request) error {
	var req AcceptRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	dev, err := canonicalID(req.Device)
	if err != nil {
		return err
	}
	if req.Folder == "" {
		return badRequest("missing folder")
	}
	req.Device = dev
	path, err := s.backend.AcceptFolder(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, acceptResponse{Path: path})
}

// RemoveFolder implements Backend.
func (c *Client) RemoveFolder(ctx context.Context, folder string, forget bool) error {
	q := ""
	if forget {
		q = "?forget=true"
	}
	return c.call(ctx, http.MethodDelete, "/api/folders/"+url.PathEscape(folder)+q, nil, nil)
}

// UnshareFolder implements Backend.
func (c *Client) UnshareFolder(ctx context.Context, folder, device string) error {
	return c.call(ctx, http.MethodDelete, "/api/folders/"+url.PathEscape(folder)+"/devices/"+url.PathEscape(device), nil, nil)
}

// SetDevice implements Backend.
func (c *Client) SetDevice(ctx context.Context, id string, s DeviceSettings) error {
	return c.call(ctx, http.MethodPatch, "/api/devices/"+url.PathEscape(id), s, nil)
}

// AcceptFolder implements Backend.
func (c *Client) AcceptFolder(ctx context.Context, req AcceptRequest) (string, error) {
	var resp acceptResponse
	err := c.call(ctx, http.MethodPost, "/api/offered", req, &resp)
	return resp.Path, err
}
