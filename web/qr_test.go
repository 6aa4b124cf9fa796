package web

import (
	"encoding/xml"
	"strings"
	"testing"

	"rsc.io/qr"
)

func TestQRSVG(t *testing.T) {
	svg, err := QRSVG("ferry-pair:7-harbor-tulip")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
	}
	c, _ := qr.Encode("ferry-pair:7-harbor-tulip", qr.M)
	black := 0
	for y := range c.Size {
		for x := range c.Size {
			if c.Black(x, y) {
				black++
			}
		}
	}
	if got := strings.Count(doc.Path.D, "M"); got != black {
		t.Fatalf("%d squares drawn for %d dark modules", got, black)
	}
}

// TestQRText decodes the terminal drawing back into modules and compares
// them with the code: every module must be drawn right.
func TestQRText(t *testing.T) {
	const text = "ferry-pair:123-harbor-tulip-anchor"
	out, err := QRText(text)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := qr.Encode(text, qr.L)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	n := c.Size + 2*qrQuiet
	if len(lines) != (n+1)/2 {
		t.Fatalf("%d lines for %d module rows", len(lines), n)
	}
	for ly, line := range lines {
		cells := []rune(line)
		if len(cells) != n {
			t.Fatalf("line %d has %d cells, want %d", ly, len(cells), n)
		}
		for x, r := range cells {
			for dy, lightWant := range []bool{r == '█' || r == '▀', r == '█' || r == '▄'} {
				y := 2*ly + dy - qrQuiet
				mx := x - qrQuiet
				if y+qrQuiet >= n {
					continue
				}
				inside := mx >= 0 && y >= 0 && mx < c.Size && y < c.Size
				dark := inside && c.Black(mx, y)
				if dark == lightWant {
					t.Fatalf("module (%d,%d) drawn wrong", mx, y)
				}
			}
		}
	}
}
