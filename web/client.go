package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxResponse limits what the client reads from one answer.
const maxResponse = 32 << 20

// Client calls a daemon's API. It implements Backend, plus Ping and
// StatusJSON. Calls have no timeout of their own (a scan takes as long as it
// takes): bound them with the context.
type Client struct {
	addr   string
	apiKey string
	hc     *http.Client
}

var _ Backend = (*Client)(nil)

// NewClient returns a client for the daemon whose API listens on addr
// (host:port) and accepts apiKey.
func NewClient(addr, apiKey string) *Client {
	transport := &http.Transport{
		Proxy:               nil, // never send the API key through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{addr: addr, apiKey: apiKey, hc: &http.Client{Transport: transport}}
}

// Ping checks that the daemon answers and accepts the key.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/api/ping", nil, nil)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodGet, "/api/status", nil, &st)
	return st, err
}

// StatusJSON returns the status exactly as the server sent it.
func (c *Client) StatusJSON(ctx context.Context) ([]byte, error) {
	return c.do(ctx, http.MethodGet, "/api/status", nil)
}

// Scan rescans a folder (or the subtree path of it) and returns when done.
func (c *Client) Scan(ctx context.Context, folder, path string) error {
	return c.call(ctx, http.MethodPost, "/api/scan", scanRequest{Folder: folder, Path: path}, nil)
}

// AddDevice trusts a device.
func (c *Client) AddDevice(ctx context.Context, d DeviceRequest) error {
	return c.call(ctx, http.MethodPost, "/api/devices", d, nil)
}

// RemoveDevice forgets a device.
func (c *Client) RemoveDevice(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/api/devices/"+url.PathEscape(id), nil, nil)
}

// AddFolder adds a folder and returns its ID.
func (c *Client) AddFolder(ctx context.Context, f FolderRequest) (string, error) {
	var resp folderResponse
	err := c.call(ctx, http.MethodPost, "/api/folders", f, &resp)
	return resp.ID, err
}

// ShareFolder shares a folder with a device.
func (c *Client) ShareFolder(ctx context.Context, folder, device string) error {
	return c.call(ctx, http.MethodPost, "/api/folders/"+url.PathEscape(folder)+"/share", shareRequest{Device: device}, nil)
}

// FolderAction runs one of the Action* commands on a folder.
func (c *Client) FolderAction(ctx context.Context, folder, action string) error {
	return c.call(ctx, http.MethodPost, "/api/folders/"+url.PathEscape(folder)+"/"+url.PathEscape(action), nil, nil)
}

// SetFolder changes a folder's settings.
func (c *Client) SetFolder(ctx context.Context, folder string, s FolderSettings) error {
	return c.call(ctx, http.MethodPatch, "/api/folders/"+url.PathEscape(folder), s, nil)
}

// IgnoreDevice forgets a pending unknown device.
func (c *Client) IgnoreDevice(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/api/pending/"+url.PathEscape(id), nil, nil)
}

// CreateOffer makes a pairing offer and returns its code.
func (c *Client) CreateOffer(ctx context.Context, req OfferRequest) (Offer, error) {
	var o Offer
	err := c.call(ctx, http.MethodPost, "/api/pair", req, &o)
	return o, err
}

// CurrentOffer returns the latest pairing offer and its state.
func (c *Client) CurrentOffer(ctx context.Context) (Offer, error) {
	var o Offer
	err := c.call(ctx, http.MethodGet, "/api/pair", nil, &o)
	return o, err
}

// CancelOffer burns the current pairing offer.
func (c *Client) CancelOffer(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/api/pair", nil, nil)
}

// Join pairs with the device showing req.Code.
func (c *Client) Join(ctx context.Context, req JoinRequest) (JoinResult, error) {
	var res JoinResult
	err := c.call(ctx, http.MethodPost, "/api/pair/join", req, &res)
	return res, err
}

// call sends in (if not nil) as JSON and decodes the answer into out (if not
// nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	data, err := c.do(ctx, method, path, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// do performs one request and returns the body of a successful answer. A
// refused connection is ErrNoDaemon; an error answer is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	resp, err := c.open(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return data, nil
}

// open sends one request and returns a successful answer, whose body the
// caller reads and closes. Errors are those of do.
func (c *Client) open(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set(APIKeyHeader, c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if isDialError(err) && ctx.Err() == nil {
			return nil, fmt.Errorf("connect to %s: %w (%w)", c.addr, ErrNoDaemon, err)
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		if err != nil {
			return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
		}
		return nil, apiError(resp.StatusCode, data)
	}
	return resp, nil
}

func apiError(status int, body []byte) *APIError {
	var e errorResponse
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("daemon answered %d %s", status, http.StatusText(status))
	}
	return &APIError{Status: status, Message: e.Error}
}

// isDialError reports whether err happened while connecting, before any
// request was sent: nothing listens at the address.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
