package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeForms lists what parseTime reads, for its errors.
const timeForms = "use RFC 3339 (2026-12-01T18:00:00Z), a date (2026-12-01), a date and time " +
	"(2026-12-01 18:00 or 18:00:05), a time today (18:00), now, today, yesterday, " +
	"today or yesterday with a time (yesterday 18:00), or an age (2h ago, 3 days ago; s, m, h, d or w)"

// parseTime reads a moment for --at, relative to now in now's location.
//
// It reads RFC 3339; a date (midnight) or a date and time in now's location;
// a time of day today; now, today and yesterday (midnight), and today or
// yesterday with a time; and ages such as "2h ago" or "3 days ago". Days and
// weeks of an age are calendar days in now's location, so "1d ago" is the
// same time of day yesterday, even across a change to or from daylight
// saving time; hours, minutes and seconds are elapsed time. Case and extra
// spaces do not matter. A moment after now is an error.
func parseTime(s string, now time.Time) (time.Time, error) {
	f := strings.Fields(strings.ToLower(s))
	t, err := readTime(f, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: %w; %s", s, err, timeForms)
	}
	if !t.After(now) {
		return t.In(now.Location()), nil
	}
	if _, err := readClock(f[0]); err == nil && len(f) == 1 {
		return time.Time{}, fmt.Errorf("--at %q is in the future: it is %s now; for yesterday, write \"yesterday %s\"",
			s, now.Format("15:04"), f[0])
	}
	return time.Time{}, fmt.Errorf("--at %q is in the future", s)
}

// readTime reads the lower-case words of a --at value.
func readTime(f []string, now time.Time) (time.Time, error) {
	switch {
	case len(f) == 0:
		return time.Time{}, errors.New("empty")
	case len(f) > 1 && f[len(f)-1] == "ago":
		return readAge(f[:len(f)-1], now)
	case len(f) == 1 && f[0] == "now":
		return now, nil
	case f[0] == "today" || f[0] == "yesterday":
		return readDay(f, now)
	case len(f) == 1:
		return readStamp(f[0], now)
	case len(f) == 2:
		return readStamp(f[0]+"t"+f[1], now)
	}
	return time.Time{}, errors.New("unknown form")
}

// readDay reads today or yesterday, alone (midnight) or with a time of day.
func readDay(f []string, now time.Time) (time.Time, error) {
	y, m, d := now.Date()
	if f[0] == "yesterday" {
		d--
	}
	if len(f) > 2 {
		return time.Time{}, errors.New("unknown form")
	}
	var c clock
	if len(f) == 2 {
		var err error
		if c, err = readClock(f[1]); err != nil {
			return time.Time{}, err
		}
	}
	return time.Date(y, m, d, c.h, c.m, c.s, 0, now.Location()), nil
}

// readStamp reads RFC 3339, or a date, a time of day, or both joined by "t".
func readStamp(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s)); err == nil {
		return t, nil
	}
	date, hms, hasClock := strings.Cut(s, "t")
	if !strings.Contains(date, "-") {
		if !strings.Contains(s, ":") {
			return time.Time{}, errors.New("unknown form")
		}
		c, err := readClock(s)
		if err != nil {
			return time.Time{}, err
		}
		y, m, d := now.Date()
		return time.Date(y, m, d, c.h, c.m, c.s, 0, now.Location()), nil
	}
	day, err := time.ParseInLocation("2006-01-02", date, now.Location())
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not a date", date)
	}
	var c clock
	if hasClock {
		if c, err = readClock(hms); err != nil {
			return time.Time{}, err
		}
	}
	return time.Date(day.Year(), day.Month(), day.Day(), c.h, c.m, c.s, 0, now.Location()), nil
}

// clock is a time of day.
type clock struct{ h, m, s int }

// readClock reads H:MM or H:MM:SS, 24-hour.
func readClock(s string) (clock, error) {
	parts := strings.Split(s, ":")
	bad := fmt.Errorf("%s is not a time of day (HH:MM or HH:MM:SS)", s)
	if len(parts) < 2 || len(parts) > 3 {
		return clock{}, bad
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || p[0] < '0' || p[0] > '9' || len(p) > 2 || i > 0 && len(p) != 2 {
			return clock{}, bad
		}
		n[i] = v
	}
	if n[0] > 23 || n[1] > 59 || n[2] > 59 {
		return clock{}, bad
	}
	return clock{n[0], n[1], n[2]}, nil
}

// ageUnits are the units of an age; a day or week counts calendar days.
var ageUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// readAge reads the words before "ago": "2h", "2 hours", "an hour" or a Go
// duration such as "1h30m".
func readAge(f []string, now time.Time) (time.Time, error) {
	var count, unit string
	switch len(f) {
	case 1:
		digits := len(f[0]) - len(strings.TrimLeft(f[0], "0123456789"))
		count, unit = f[0][:digits], f[0][digits:]
		if _, ok := ageUnits[unit]; !ok {
			if d, err := time.ParseDuration(f[0]); err == nil {
				return now.Add(-d), nil
			}
		}
	case 2:
		count, unit = f[0], f[1]
		if count == "a" || count == "an" {
			count = "1"
		}
	default:
		return time.Time{}, errors.New("unknown form")
	}
	u, ok := ageUnits[unit]
	if !ok {
		return time.Time{}, fmt.Errorf("unknown unit %q", unit)
	}
	if count == "" {
		return time.Time{}, fmt.Errorf("no count before %q", unit)
	}
	n, err := strconv.Atoi(count)
	if err != nil || count[0] < '0' || count[0] > '9' {
		return time.Time{}, fmt.Errorf("%q is not a count", count)
	}
	if int64(n) > math.MaxInt64/int64(u) {
		return time.Time{}, errors.New("too long ago")
	}
	if u%(24*time.Hour) == 0 {
		return now.AddDate(0, 0, -n*int(u/(24*time.Hour))), nil
	}
	return now.Add(-time.Duration(n) * u), nil
}
