package webtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"ferry/web"
)

// Backend is a web.Backend that keeps devices and folders in memory and
// records every call. Unknown folders or devices are web.NotFound errors,
// duplicates web.BadRequest errors, as a daemon would answer.
type Backend struct {
	mu      sync.Mutex
	status  web.Status
	devices []string // trusted device IDs
	folders []string // folder IDs
	calls   []string
	fail    error
	offer   web.Offer
	copies  []web.Conflict // see SetConflicts
}

// New returns a backend whose Status is st; the devices and folders in st
// are known.
func New(st web.Status) *Backend {
	b := &Backend{status: cloneStatus(st)}
	for _, d := range st.Devices {
		b.devices = append(b.devices, d.ID)
	}
	for _, f := range st.Folders {
		b.folders = append(b.folders, f.ID)
	}
	return b
}

// SetStatus replaces the status later Status calls return, as a daemon's
// status changes while it runs.
func (b *Backend) SetStatus(st web.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = cloneStatus(st)
}

// cloneStatus copies st's lists, so that the caller's status and the
// backend's never share memory.
func cloneStatus(st web.Status) web.Status {
	st.Folders = slices.Clone(st.Folders)
	for i := range st.Folders {
		st.Folders[i].Errors = slices.Clone(st.Folders[i].Errors)
		st.Folders[i].Devices = slices.Clone(st.Folders[i].Devices)
	}
	st.Devices = slices.Clone(st.Devices)
	st.Pending = slices.Clone(st.Pending)
	st.Offered = slices.Clone(st.Offered)
	return st
}

// CompleteOffer marks the waiting offer as used by the device id named
// name, as a daemon does when a device joins with its code.
func (b *Backend) CompleteOffer(id, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.offer.State == web.OfferWaiting {
		b.offer.State, b.offer.Peer, b.offer.PeerName = web.OfferPaired, id, name
	}
}

// FailWith makes every later call return err (nil restores normal answers).
func (b *Backend) FailWith(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = err
}

// Calls returns the calls so far, one line each, such as
// "AddDevice ID name addr1,addr2" or "Scan photos sub/dir".
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// record notes a call and returns the error to fail it with, if any.
func (b *Backend) record(format string, args ...any) error {
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
	return b.fail
}

// Status returns the status given to New.
func (b *Backend) Status(ctx context.Context) (web.Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("Status"); err != nil {
		return web.Status{}, err
	}
	return cloneStatus(b.status), nil
}

// Scan succeeds for a known folder.
func (b *Backend) Scan(ctx context.Context, folder, path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("Scan %s %s", folder, path); err != nil {
		return err
	}
	if !slices.Contains(b.folders, folder) {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return nil
}

// AddDevice trusts a new device.
func (b *Backend) AddDevice(ctx context.Context, d web.DeviceRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("AddDevice %s %s %s", d.ID, d.Name, strings.Join(d.Addrs, ",")); err != nil {
		return err
	}
	if slices.Contains(b.devices, d.ID) {
		return web.BadRequest(fmt.Errorf("device %s already added", d.ID))
	}
	b.devices = append(b.devices, d.ID)
	return nil
}

// RemoveDevice forgets a trusted device.
func (b *Backend) RemoveDevice(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("RemoveDevice %s", id); err != nil {
		return err
	}
	i := slices.Index(b.devices, id)
	if i < 0 {
		return web.NotFound(fmt.Errorf("device %s is not a known device", id))
	}
	b.devices = slices.Delete(b.devices, i, i+1)
	return nil
}

// AddFolder adds a folder; an empty ID becomes "folder-N".
func (b *Backend) AddFolder(ctx context.Context, f web.FolderRequest) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("AddFolder %s %s %s", f.ID, f.Path, f.Type); err != nil {
		return "", err
	}
	id := f.ID
	if id == "" {
		id = fmt.Sprintf("folder-%d", len(b.folders)+1)
	}
	if slices.Contains(b.folders, id) {
		return "", web.BadRequest(fmt.Errorf("folder %q already exists", id))
	}
	b.folders = append(b.folders, id)
	return id, nil
}

// FolderAction succeeds for a known folder.
func (b *Backend) FolderAction(ctx context.Context, folder, action string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("FolderAction %s %s", folder, action); err != nil {
		return err
	}
	if !slices.Contains(b.folders, folder) {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return nil
}

// SetFolder succeeds for a known folder.
func (b *Backend) SetFolder(ctx context.Context, folder string, fs web.FolderSettings) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("SetFolder %s %s", folder, settingsText(fs)); err != nil {
		return err
	}
	if !slices.Contains(b.folders, folder) {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return nil
}

// ShareFolder succeeds for a known folder and device.
func (b *Backend) ShareFolder(ctx context.Context, folder, device string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("ShareFolder %s %s", folder, device); err != nil {
		return err
	}
	if !slices.Contains(b.folders, folder) {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	if !slices.Contains(b.devices, device) {
		return web.NotFound(fmt.Errorf("device %s is not a known device", device))
	}
	return nil
}

// IgnoreDevice succeeds for a pending device listed in the status.
func (b *Backend) IgnoreDevice(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("IgnoreDevice %s", id); err != nil {
		return err
	}
	i := slices.IndexFunc(b.status.Pending, func(p web.PendingDevice) bool { return p.ID == id })
	if i < 0 {
		return web.NotFound(fmt.Errorf("device %s is not pending", id))
	}
	b.status.Pending = slices.Delete(b.status.Pending, i, i+1)
	return nil
}

// CreateOffer makes a waiting offer with the code "7-harbor-tulip".
func (b *Backend) CreateOffer(ctx context.Context, req web.OfferRequest) (web.Offer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("CreateOffer %s %s", strings.Join(req.Folders, ","), req.TTL); err != nil {
		return web.Offer{}, err
	}
	for _, f := range req.Folders {
		if !slices.Contains(b.folders, f) {
			return web.Offer{}, web.NotFound(fmt.Errorf("folder %q does not exist", f))
		}
	}
	qr, err := web.QRSVG("7-harbor-tulip")
	if err != nil {
		return web.Offer{}, err
	}
	b.offer = web.Offer{Code: "7-harbor-tulip", State: web.OfferWaiting, ExpiresAt: "2030-01-01T00:00:00Z", Folders: slices.Clone(req.Folders), QRSVG: qr}
	return b.offer, nil
}

// CurrentOffer returns the last offer made.
func (b *Backend) CurrentOffer(ctx context.Context) (web.Offer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("CurrentOffer"); err != nil {
		return web.Offer{}, err
	}
	return b.offer, nil
}

// CancelOffer marks the last offer canceled.
func (b *Backend) CancelOffer(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("CancelOffer"); err != nil {
		return err
	}
	if b.offer.State == web.OfferWaiting {
		b.offer.State = web.OfferCanceled
	}
	return nil
}

// Join accepts the code "7-harbor-tulip" from a device named "peer" offering
// the folder "docs", and refuses any other code. When the status has a
// folder docs, it is joined only if the request confirms it (Existing, or
// its path in Folders), as a daemon does.
func (b *Backend) Join(ctx context.Context, req web.JoinRequest) (web.JoinResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	call := fmt.Sprintf("Join %s %s", req.Code, req.Addr)
	if len(req.Existing) > 0 {
		call += " existing=" + strings.Join(req.Existing, ",")
	}
	if err := b.record("%s", call); err != nil {
		return web.JoinResult{}, err
	}
	if req.Code != "7-harbor-tulip" {
		return web.JoinResult{}, web.BadRequest(fmt.Errorf("pairing failed: wrong code"))
	}
	res := web.JoinResult{Device: "peer", Name: "peer", Folders: []web.JoinedFolder{}, Declined: []string{}, Unconfirmed: []web.JoinedFolder{}}
	i := slices.IndexFunc(b.status.Folders, func(f web.FolderStatus) bool { return f.ID == "docs" })
	switch path := req.Folders["docs"]; {
	case i >= 0 && path != "" && path != b.status.Folders[i].Path:
		return web.JoinResult{}, web.BadRequest(fmt.Errorf("pairing failed: choose: folder %q already exists here at %s", "docs", b.status.Folders[i].Path))
	case i >= 0 && (path != "" || slices.Contains(req.Existing, "docs")):
		res.Folders = append(res.Folders, web.JoinedFolder{ID: "docs", Path: b.status.Folders[i].Path})
	case i >= 0:
		res.Unconfirmed = append(res.Unconfirmed, web.JoinedFolder{ID: "docs", Path: b.status.Folders[i].Path})
	case path != "":
		res.Folders = append(res.Folders, web.JoinedFolder{ID: "docs", Path: path})
	case req.Into != "":
		res.Folders = append(res.Folders, web.JoinedFolder{ID: "docs", Path: req.Into + "/docs"})
	default:
		res.Declined = append(res.Declined, "docs")
	}
	return res, nil
}

// Versions lists one current version of a name in a known folder.
func (b *Backend) Versions(ctx context.Context, folder, name string) ([]web.VersionInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("Versions %s %s", folder, name); err != nil {
		return nil, err
	}
	if !slices.Contains(b.folders, folder) {
		return nil, web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return []web.VersionInfo{{Name: name, Size: 1, Kind: "current"}}, nil
}

// Restore succeeds for a known folder and says where it wrote.
func (b *Backend) Restore(ctx context.Context, req web.RestoreRequest) (web.RestoreResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("Restore %s %s %d %s %s", req.Folder, req.Name, req.Version, req.At.UTC().Format("2006-01-02T15:04:05Z"), req.To); err != nil {
		return web.RestoreResult{}, err
	}
	if !slices.Contains(b.folders, req.Folder) {
		return web.RestoreResult{}, web.NotFound(fmt.Errorf("folder %q does not exist", req.Folder))
	}
	return web.RestoreResult{Path: req.Name, Size: 1, Version: req.Version}, nil
}

// FolderAt lists one file of a known folder.
func (b *Backend) FolderAt(ctx context.Context, folder string, at time.Time) ([]web.VersionInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("FolderAt %s %s", folder, at.UTC().Format(time.RFC3339)); err != nil {
		return nil, err
	}
	if !slices.Contains(b.folders, folder) {
		return nil, web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return []web.VersionInfo{{ID: 1, Name: "a.txt", Size: 1, Kind: "edited"}}, nil
}

// Moments returns one moment for a known folder.
func (b *Backend) Moments(ctx context.Context, folder string) ([]time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("Moments %s", folder); err != nil {
		return nil, err
	}
	if !slices.Contains(b.folders, folder) {
		return nil, web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return []time.Time{time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}, nil
}

// RestoreFolder reports progress twice and succeeds for a known folder.
func (b *Backend) RestoreFolder(ctx context.Context, req web.FolderRestoreRequest, progress func(web.RestoreProgress)) (web.FolderRestoreResult, error) {
	b.mu.Lock()
	err := b.record("RestoreFolder %s %s %s %t", req.Folder, req.At.UTC().Format(time.RFC3339), req.To, req.Exact)
	known := slices.Contains(b.folders, req.Folder)
	b.mu.Unlock()
	if err != nil {
		return web.FolderRestoreResult{}, err
	}
	if !known {
		return web.FolderRestoreResult{}, web.NotFound(fmt.Errorf("folder %q does not exist", req.Folder))
	}
	progress(web.RestoreProgress{Files: 1, TotalFiles: 2, Bytes: 1, TotalBytes: 2})
	return web.FolderRestoreResult{Path: req.To, Files: 2, Bytes: 2}, nil
}

// settingsText shows folder settings as a call line: the first fields
// always, the later ones when set.
func settingsText(s web.FolderSettings) string {
	g := "<nil>"
	if s.DeleteGuard != nil {
		g = fmt.Sprintf("%d/%d", s.DeleteGuard.Files, s.DeleteGuard.Percent)
	}
	out := fmt.Sprintf("{DeleteGuard:%s DefaultDeleteGuard:%t Type:%s Keep:%s", g, s.DefaultDeleteGuard, s.Type, s.Keep)
	if s.Path != "" {
		out += " Path:" + s.Path
	}
	if s.Label != nil {
		out += fmt.Sprintf(" Label:%q", *s.Label)
	}
	if s.ScanInterval != "" {
		out += " ScanInterval:" + s.ScanInterval
	}
	return out + "}"
}

// knownFolder records a call and checks that folder is known.
func (b *Backend) knownFolder(folder, format string, args ...any) error {
	if err := b.record(format, args...); err != nil {
		return err
	}
	if !slices.Contains(b.folders, folder) {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	return nil
}

// RemoveFolder forgets a known folder.
func (b *Backend) RemoveFolder(ctx context.Context, folder string, forget bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.knownFolder(folder, "RemoveFolder %s forget=%t", folder, forget); err != nil {
		return err
	}
	b.folders = slices.DeleteFunc(b.folders, func(f string) bool { return f == folder })
	b.status.Folders = slices.DeleteFunc(b.status.Folders, func(f web.FolderStatus) bool { return f.ID == folder })
	return nil
}

// UnshareFolder succeeds for a known folder shared with the device.
func (b *Backend) UnshareFolder(ctx context.Context, folder, device string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.knownFolder(folder, "UnshareFolder %s %s", folder, device); err != nil {
		return err
	}
	for i, f := range b.status.Folders {
		if f.ID == folder {
			if !slices.Contains(f.Devices, device) {
				return web.NotFound(fmt.Errorf("folder %q is not shared with device %s", folder, device))
			}
			b.status.Folders[i].Devices = slices.DeleteFunc(slices.Clone(f.Devices), func(d string) bool { return d == device })
		}
	}
	return nil
}

// SetDevice changes a known device's name, addresses and pause in the
// status.
func (b *Backend) SetDevice(ctx context.Context, id string, s web.DeviceSettings) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var set []string
	if s.Name != nil {
		set = append(set, "name="+*s.Name)
	}
	if s.Addrs != nil {
		set = append(set, "addrs="+strings.Join(*s.Addrs, ","))
	}
	if s.Paused != nil {
		set = append(set, fmt.Sprintf("paused=%t", *s.Paused))
	}
	if s.MaxSend != nil {
		set = append(set, fmt.Sprintf("maxSend=%d", *s.MaxSend))
	}
	if s.MaxRecv != nil {
		set = append(set, fmt.Sprintf("maxRecv=%d", *s.MaxRecv))
	}
	if err := b.record("SetDevice %s %s", id, strings.Join(set, " ")); err != nil {
		return err
	}
	i := slices.IndexFunc(b.status.Devices, func(d web.DeviceStatus) bool { return d.ID == id })
	if i < 0 {
		return web.NotFound(fmt.Errorf("device %s is not a known device", id))
	}
	d := &b.status.Devices[i]
	if s.Name != nil {
		d.Name = *s.Name
	}
	if s.Addrs != nil {
		d.Addrs = slices.Clone(*s.Addrs)
	}
	if s.Paused != nil {
		d.Paused = *s.Paused
	}
	if s.MaxSend != nil {
		d.MaxSend = *s.MaxSend
	}
	if s.MaxRecv != nil {
		d.MaxRecv = *s.MaxRecv
	}
	return nil
}

// AcceptFolder takes an offered folder listed in the status.
func (b *Backend) AcceptFolder(ctx context.Context, req web.AcceptRequest) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("AcceptFolder %s %s %s", req.Device, req.Folder, req.Path); err != nil {
		return "", err
	}
	i := slices.IndexFunc(b.status.Offered, func(o web.OfferedFolder) bool { return o.Device == req.Device && o.Folder == req.Folder })
	if i < 0 {
		return "", web.NotFound(fmt.Errorf("device %s does not offer folder %q", req.Device, req.Folder))
	}
	if req.Path == "" && !b.status.Offered[i].Existing {
		return "", web.BadRequest(fmt.Errorf("missing path"))
	}
	b.status.Offered = slices.Delete(b.status.Offered, i, i+1)
	if !slices.Contains(b.folders, req.Folder) {
		b.folders = append(b.folders, req.Folder)
	}
	return req.Path, nil
}
