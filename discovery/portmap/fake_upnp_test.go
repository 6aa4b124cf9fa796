package portmap

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

const wanIP1 = "urn:schemas-upnp-org:service:WANIPConnection:1"

const igdDescription = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
 <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
 <friendlyName>fake router</friendlyName><UDN>uuid:igd</UDN>
 <deviceList><device>
  <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><UDN>uuid:wan</UDN>
  <deviceList><device>
   <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType><UDN>uuid:wanconn</UDN>
   <serviceList><service>
    <serviceType>` + wanIP1 + `</serviceType>
    <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
    <controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL><SCPDURL>/scpd.xml</SCPDURL>
   </service></serviceList>
  </device></deviceList>
 </device></deviceList>
</device>
</root>`

// soapCall is an action seen by fakeIGD, with its arguments.
type soapCall struct {
	action string
	args   map[string]string
}

// fakeIGD is a UPnP internet gateway device with one WANIPConnection:1.
type fakeIGD struct {
	srv *httptest.Server

	mu       sync.Mutex
	external string
	fault    int           // UPnP error code answered to every action, 0 for none
	hold     string        // action applied but never answered, until the client gives up
	holding  chan struct{} // closed when the held action first arrives
	calls    []soapCall
	once     sync.Once
}

func newFakeIGD(t *testing.T) *fakeIGD {
	t.Helper()
	f := &fakeIGD{external: "203.0.113.7", holding: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /root.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, igdDescription)
	})
	mux.HandleFunc("POST /ctl", f.control)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIGD) rootURL() string { return f.srv.URL + "/root.xml" }

func (f *fakeIGD) set(fn func(*fakeIGD)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeIGD) seen(action string) []soapCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []soapCall
	for _, c := range f.calls {
		if c.action == action {
			out = append(out, c)
		}
	}
	return out
}

type soapRequest struct {
	Body struct {
		Action struct {
			XMLName xml.Name
			Args    []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"Body"`
}

func (f *fakeIGD) control(w http.ResponseWriter, r *http.Request) {
	var req soapRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := soapCall{action: req.Body.Action.XMLName.Local, args: map[string]string{}}
	for _, a := range req.Body.Action.Args {
		call.args[a.XMLName.Local] = a.Value
	}
	if want := `"` + wanIP1 + "#" + call.action + `"`; r.Header.Get("SOAPACTION") != want {
		http.Error(w, "bad SOAPACTION "+r.Header.Get("SOAPACTION"), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	fault, external, hold := f.fault, f.external, f.hold
	f.mu.Unlock()
	if call.action == hold {
		f.once.Do(func() { close(f.holding) })
		<-r.Context().Done()
		return
	}

	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	if fault != 0 {
		w.WriteHeader(http.StatusInternalServerError)
		writeEnvelope(w, fmt.Sprintf(`<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>`+
			`<detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode>`+
			`<errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>`, fault))
		return
	}
	var out string
	if call.action == "GetExternalIPAddress" {
		out = "<NewExternalIPAddress>" + external + "</NewExternalIPAddress>"
	}
	writeEnvelope(w, fmt.Sprintf(`<u:%sResponse xmlns:u="%s">%s</u:%[1]sResponse>`, call.action, wanIP1, out))
}

func writeEnvelope(w io.Writer, body string) {
	io.WriteString(w, `<?xml version="1.0"?>`+
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">`+
		`<s:Body>`+body+`</s:Body></s:Envelope>`)
}
