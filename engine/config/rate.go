package config

import (
	"math"
	"strconv"
	"strings"
)

// MaxRate is the largest bandwidth limit accepted, 1 TiB/s: far above any
// link, and small enough that every computation on it stays exact.
const MaxRate = 1 << 40

// ParseRate reads a bandwidth limit in bytes per second: a number with an
// optional K, M or G (1024-based; "Ki", "Mi" and "Gi" too), then an
// optional "B" and an optional "/s". "0" is no limit. Examples: "500",
// "500K", "1.5M", "2MB/s", "1G". A fraction is rounded to whole bytes.
func ParseRate(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "/s")
	s = strings.TrimSuffix(s, "B")
	if t, ok := strings.CutSuffix(s, "i"); ok && t != "" && strings.ContainsRune("kKmMgG", rune(t[len(t)-1])) {
		s = t
	}
	mult := 1.0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	s = strings.TrimSpace(s)
	if !isDecimal(s) {
		return 0, invalidf("rate %q is not a number of bytes per second; use e.g. 500K, 1.5M or 0 for no limit (K/M/G are 1024-based)", orig)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, invalidf("rate %q: %v", orig, err)
	}
	v = math.Round(v * mult)
	switch {
	case v > MaxRate:
		return 0, invalidf("rate %q is above the largest limit, 1 TiB/s", orig)
	case v == 0 && strings.Trim(s, "0.") != "":
		return 0, invalidf("rate %q is below 1 byte per second; use 0 for no limit", orig)
	}
	return int64(v), nil
}

// isDecimal reports whether s is digits with at most one '.' between
// digits: no sign, exponent, hex or underscores.
func isDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(t string) bool {
		return t != "" && strings.Trim(t, "0123456789") == ""
	}
	return digits(whole) && (!dot || digits(frac))
}

// FormatRate writes a limit for people: "off" for 0, else bytes per
// second with a 1024-based unit, e.g. "1.5 MiB/s".
func FormatRate(r int64) string {
	if r <= 0 {
		return "off"
	}
	units := []string{"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"}
	v, u := float64(r), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	num := strconv.FormatFloat(v, 'f', 2, 64)
	num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	return num + " " + units[u]
}

// checkLimits refuses a negative limit or one above MaxRate; who names the
// owner of the limits in the message ("" or "device ID ").
func checkLimits(who string, send, recv int64) error {
	for _, l := range []struct {
		name string
		v    int64
	}{{"maxSend", send}, {"maxRecv", recv}} {
		if l.v < 0 {
			return invalidf("%s%s %d is negative; use 0 for no limit", who, l.name, l.v)
		}
		if l.v > MaxRate {
			return invalidf("%s%s %d is above the largest limit, %d (1 TiB/s)", who, l.name, l.v, int64(MaxRate))
		}
	}
	return nil
}
