package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	est := time.FixedZone("EST", -5*60*60)
	now := time.Date(2026, 12, 1, 17, 30, 20, 0, est)
	at := func(mo time.Month, d, h, mi, s int) time.Time { return time.Date(2026, mo, d, h, mi, s, 0, est) }
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01T18:00:00Z", at(12, 1, 13, 0, 0)},
		{"2026-12-01t18:00:00z", at(12, 1, 13, 0, 0)},
		{"2026-12-01T12:00:00+01:00", at(12, 1, 6, 0, 0)},
		{"2026-11-30T09:15:00.5-05:00", at(11, 30, 9, 15, 0).Add(500 * time.Millisecond)},
		{"2026-12-01 17:00:00Z", at(12, 1, 12, 0, 0)},
		{"2026-12-01", at(12, 1, 0, 0, 0)},
		{"2026-11-30 18:00", at(11, 30, 18, 0, 0)},
		{"  2026-11-30    18:00:05 ", at(11, 30, 18, 0, 5)},
		{"2026-11-30T18:00", at(11, 30, 18, 0, 0)},
		{"17:00", at(12, 1, 17, 0, 0)},
		{"9:30", at(12, 1, 9, 30, 0)},
		{"17:30:20", now},
		{"now", now},
		{" NOW ", now},
		{"today", at(12, 1, 0, 0, 0)},
		{"Yesterday", at(11, 30, 0, 0, 0)},
		{"yesterday 18:00", at(11, 30, 18, 0, 0)},
		{"today 9:30", at(12, 1, 9, 30, 0)},
		{"2h ago", at(12, 1, 15, 30, 20)},
		{"90m ago", at(12, 1, 16, 0, 20)},
		{"3d ago", at(11, 28, 17, 30, 20)},
		{"1w ago", at(11, 24, 17, 30, 20)},
		{"2 hours ago", at(12, 1, 15, 30, 20)},
		{"2 HOURS   AGO", at(12, 1, 15, 30, 20)},
		{"1 day ago", at(11, 30, 17, 30, 20)},
		{"2 days ago", at(11, 29, 17, 30, 20)},
		{"1 days ago", at(11, 30, 17, 30, 20)},
		{"30 minutes ago", at(12, 1, 17, 0, 20)},
		{"30 min ago", at(12, 1, 17, 0, 20)},
		{"45s ago", at(12, 1, 17, 29, 35)},
		{"1 second ago", at(12, 1, 17, 30, 19)},
		{"an hour ago", at(12, 1, 16, 30, 20)},
		{"a week ago", at(11, 24, 17, 30, 20)},
		{"2 weeks ago", at(11, 17, 17, 30, 20)},
		{"1h30m ago", at(12, 1, 16, 0, 20)},
		{"0s ago", now},
		{"40d ago", at(10, 22, 17, 30, 20)},
	} {
		got, err := parseTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) || got.Location() != est {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTimeErrors(t *testing.T) {
	now := time.Date(2026, 12, 1, 17, 30, 0, 0, time.FixedZone("EST", -5*60*60))
	forms := "use RFC 3339 (2026-12-01T18:00:00Z), a date (2026-12-01), "
	for _, tc := range []struct{ in, want string }{
		{"18:00", `--at "18:00" is in the future: it is 17:30 now; for yesterday, write "yesterday 18:00"`},
		{"today 18:00", `--at "today 18:00" is in the future`},
		{"2026-12-02", `--at "2026-12-02" is in the future`},
		{"2026-12-01T22:31:00Z", `--at "2026-12-01T22:31:00Z" is in the future`},
		{"-2h ago", `--at "-2h ago" is in the future`},
		{"", `--at "": empty; ` + forms},
		{"tomorrow", `--at "tomorrow": unknown form; ` + forms},
		{"in 2 hours", `--at "in 2 hours": unknown form; ` + forms},
		{"2h", `--at "2h": unknown form`},
		{"ago", `--at "ago": unknown form`},
		{"2 fortnights ago", `--at "2 fortnights ago": unknown unit "fortnights"; ` + forms},
		{"2x ago", `unknown unit "x"`},
		{"h ago", `--at "h ago": no count before "h"`},
		{"some hours ago", `"some" is not a count`},
		{"+2 hours ago", `"+2" is not a count`},
		{"99999999999999 weeks ago", `too long ago`},
		{"25:00", `--at "25:00": 25:00 is not a time of day (HH:MM or HH:MM:SS); ` + forms},
		{"12:60", `12:60 is not a time of day`},
		{"12:5", `12:5 is not a time of day`},
		{"yesterday 25:00", `25:00 is not a time of day`},
		{"yesterday noon", `noon is not a time of day`},
		{"yesterday 18:00 sharp", `unknown form`},
		{"2026-13-01", `--at "2026-13-01": 2026-13-01 is not a date; ` + forms},
		{"2026-02-30 10:00", `2026-02-30 is not a date`},
		{"2026-11-30 10:00 pm", `unknown form`},
		{"2026-11-30 1000", `1000 is not a time of day`},
	} {
		_, err := parseTime(tc.in, now)
		if err == nil {
			t.Errorf("parseTime(%q) succeeded, want an error", tc.in)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("parseTime(%q): %q, want one line containing %q", tc.in, msg, tc.want)
		}
	}
}

// In a zone with daylight saving time, days are calendar days and hours are
// elapsed time.
func TestParseTimeDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("zone data: %v", err)
	}
	utc := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, time.UTC) }
	// Clocks go forward on 2026-03-29 at 02:00 CET to 03:00 CEST, and
	// back on 2026-10-25 at 03:00 CEST to 02:00 CET.
	spring := time.Date(2026, 3, 29, 12, 0, 0, 0, berlin)  // 10:00 UTC
	autumn := time.Date(2026, 10, 25, 12, 0, 0, 0, berlin) // 11:00 UTC
	for _, tc := range []struct {
		now  time.Time
		in   string
		want time.Time
	}{
		{spring, "1d ago", utc(3, 28, 11, 0)}, // 23 hours before
		{spring, "24h ago", utc(3, 28, 10, 0)},
		{spring, "1 week ago", utc(3, 22, 11, 0)},
		{spring, "today", utc(3, 28, 23, 0)},
		{spring, "yesterday", utc(3, 27, 23, 0)},
		{spring, "yesterday 18:00", utc(3, 28, 17, 0)},
		{spring, "01:30", utc(3, 29, 0, 30)},
		{spring, "03:30", utc(3, 29, 1, 30)},
		{spring, "2026-03-28", utc(3, 27, 23, 0)},
		{spring, "2026-03-29 11:00", utc(3, 29, 9, 0)},
		{autumn, "1d ago", utc(10, 24, 10, 0)}, // 25 hours before
		{autumn, "24h ago", utc(10, 24, 11, 0)},
		{autumn, "today 9:00", utc(10, 25, 8, 0)},
		{autumn, "today", utc(10, 24, 22, 0)},
		{autumn, "yesterday 18:00", utc(10, 24, 16, 0)},
		{time.Date(2026, 10, 27, 12, 0, 0, 0, berlin), "3d ago", utc(10, 24, 10, 0)},
	} {
		got, err := parseTime(tc.in, tc.now)
		if err != nil || !got.Equal(tc.want) || got.Location() != berlin {
			t.Errorf("at %v, parseTime(%q) = %v, %v; want %v", tc.now, tc.in, got, err, tc.want.In(berlin))
		}
	}
}
