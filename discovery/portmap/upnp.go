package portmap

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/httpu"
	"github.com/huin/goupnp/soap"
	"github.com/huin/goupnp/ssdp"
)

const (
	maxUPnPBody  = 256 << 10
	mappingName  = "ferry"
	upnpProtocol = "TCP"
)

// igdService is what a WAN connection service of an IGD offers to us; the
// goupnp clients of WANIPConnection:1, :2 and WANPPPConnection:1 all fit.
type igdService interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, external uint16, protocol string,
		internal uint16, internalClient string, enabled bool, description string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, external uint16, protocol string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	GetServiceClient() *goupnp.ServiceClient
}

// upnp is a client of one WAN connection service.
type upnp struct {
	svc     igdService
	local   string // this host's address as the router sees it
	timeout time.Duration
	now     func() time.Time
}

func (u *upnp) String() string { return u.svc.GetServiceClient().SOAPClient.EndpointURL.String() }

func (u *upnp) add(ctx context.Context, internal, external uint16, lifetime time.Duration) (Mapping, error) {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	lease := uint32(lifetime / time.Second)
	err := u.svc.AddPortMappingCtx(ctx, "", external, upnpProtocol, internal, u.local, true, mappingName, lease)
	if err != nil {
		if _, refused := errors.AsType[*soap.SOAPFaultError](err); !refused {
			// The router may have made the mapping and the answer been
			// lost, or ctx ended (another protocol won) while it was on
			// its way.
			u.undo(ctx, external)
		}
		return Mapping{}, fmt.Errorf("upnp %s: map port %d: %w", u, internal, soapError(err))
	}
	s, err := u.svc.GetExternalIPAddressCtx(ctx)
	if err != nil {
		u.undo(ctx, external)
		return Mapping{}, fmt.Errorf("upnp %s: external address: %w", u, soapError(err))
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		u.undo(ctx, external)
		return Mapping{}, fmt.Errorf("upnp %s: external address %q: %w", u, s, err)
	}
	return Mapping{
		Protocol: "upnp",
		External: netip.AddrPortFrom(ip.Unmap(), external),
		Lifetime: lifetime,
		Expires:  u.now().Add(lifetime),
		internal: internal,
		router:   u,
	}, nil
}

func (u *upnp) remove(ctx context.Context, m Mapping) error {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	if err := u.svc.DeletePortMappingCtx(ctx, "", m.External.Port(), upnpProtocol); err != nil {
		return fmt.Errorf("upnp %s: delete mapping of port %d: %w", u, m.External.Port(), soapError(err))
	}
	return nil
}

// undo deletes a mapping add may have made, even after ctx has ended.
func (u *upnp) undo(ctx context.Context, external uint16) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.timeout)
	defer cancel()
	u.svc.DeletePortMappingCtx(ctx, "", external, upnpProtocol)
}

// soapError names the UPnP error code and description of a SOAP fault.
func soapError(err error) error {
	var fault *soap.SOAPFaultError
	if errors.As(err, &fault) {
		e := fault.Detail.UPnPError
		return fmt.Errorf("router refused with UPnP error %d %q: %w", e.Errorcode, e.ErrorDescription, err)
	}
	return err
}

// mapUPnP maps the port on the first IGD service that accepts it.
func mapUPnP(ctx context.Context, cfg *Config) (Mapping, error) {
	hc := newHTTPClient(cfg.Timeout)
	locs := []string{cfg.UPnPRootURL}
	if cfg.UPnPRootURL == "" {
		var err error
		if locs, err = discoverIGDs(ctx, cfg.Discovery); err != nil {
			return Mapping{}, err
		}
	}
	var errs []error
	for _, loc := range locs {
		svcs, err := igdServices(ctx, hc, loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, svc := range svcs {
			u, err := newUPnP(ctx, svc, hc, cfg)
			if err == nil {
				var m Mapping
				if m, err = u.add(ctx, uint16(cfg.Port), uint16(cfg.Port), cfg.Lifetime); err == nil {
					return m, nil
				}
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return Mapping{}, errors.New("upnp: no internet gateway device found")
	}
	return Mapping{}, errors.Join(errs...)
}

func newUPnP(ctx context.Context, svc igdService, hc *http.Client, cfg *Config) (*upnp, error) {
	sc := svc.GetServiceClient().SOAPClient
	sc.HTTPClient = *hc
	local, err := localAddrTo(ctx, &sc.EndpointURL, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("upnp %s: local address: %w", &sc.EndpointURL, err)
	}
	return &upnp{svc: svc, local: local, timeout: cfg.Timeout, now: cfg.Now}, nil
}

// localAddrTo returns the address this host uses to reach u's host. The
// UDP "connection" sends nothing.
func localAddrTo(ctx context.Context, u *url.URL, timeout time.Duration) (string, error) {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return "", err
	}
	return ap.Addr().Unmap().String(), nil
}

// igdServices reads the device description at loc and returns its WAN
// connection services, the newest kind first.
func igdServices(ctx context.Context, hc *http.Client, loc string) ([]igdService, error) {
	root, u, err := fetchRoot(ctx, hc, loc)
	if err != nil {
		return nil, fmt.Errorf("upnp %s: %w", loc, err)
	}
	var svcs []igdService
	if cs, err := internetgateway2.NewWANIPConnection2ClientsFromRootDevice(root, u); err == nil {
		for _, c := range cs {
			svcs = append(svcs, c)
		}
	}
	if cs, err := internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, u); err == nil {
		for _, c := range cs {
			svcs = append(svcs, c)
		}
	}
	if cs, err := internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, u); err == nil {
		for _, c := range cs {
			svcs = append(svcs, c)
		}
	}
	if len(svcs) == 0 {
		return nil, fmt.Errorf("upnp %s: no WAN connection service", loc)
	}
	return svcs, nil
}

func fetchRoot(ctx context.Context, hc *http.Client, loc string) (*goupnp.RootDevice, *url.URL, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("device description: %s", resp.Status)
	}
	root := new(goupnp.RootDevice)
	dec := xml.NewDecoder(resp.Body)
	dec.DefaultSpace = goupnp.DeviceXMLNamespace
	if err := dec.Decode(root); err != nil {
		return nil, nil, fmt.Errorf("device description: %w", err)
	}
	base := u
	if root.URLBaseStr != "" {
		if base, err = url.Parse(root.URLBaseStr); err != nil {
			return nil, nil, fmt.Errorf("device description URLBase: %w", err)
		}
	}
	root.SetURLBase(base)
	return root, u, nil
}

// discoverIGDs searches the LAN by SSDP for internet gateway devices and
// returns their description URLs.
func discoverIGDs(ctx context.Context, wait time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	targets := []string{
		"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
		"urn:schemas-upnp-org:device:InternetGatewayDevice:2"}
	var (
		mu   sync.Mutex
		locs []string
		errs []error
		wg   sync.WaitGroup
	)
	for _, st := range targets {
		wg.Go(func() {
			found, err := search(ctx, st)
			mu.Lock()
			defer mu.Unlock()
			locs = append(locs, found...)
			errs = append(errs, err)
		})
	}
	wg.Wait()
	if len(locs) == 0 {
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("upnp: ssdp search: %w", err)
		}
		return nil, errors.New("upnp: no internet gateway device answered the ssdp search")
	}
	return locs, nil
}

func search(ctx context.Context, target string) ([]string, error) {
	c, err := httpu.NewHTTPUClient()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	resps, err := ssdp.RawSearch(ctx, c, target, 2)
	if err != nil {
		return nil, err
	}
	var locs []string
	for _, r := range resps {
		if u, err := r.Location(); err == nil {
			locs = append(locs, u.String())
		}
	}
	return locs, nil
}

// newHTTPClient returns a client that bounds the time of a request and the
// size of what it reads, and follows no redirects.
func newHTTPClient(timeout time.Duration) *http.Client {
	t := &http.Transport{
		DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		DisableKeepAlives:      true,
	}
	return &http.Client{
		Transport: limitBody{t},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type limitBody struct{ http.RoundTripper }

func (l limitBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.RoundTripper.RoundTrip(req)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxUPnPBody), resp.Body}
	}
	return resp, err
}
